/**
 * The limits one HTTP/2 connection (h2-conn.ts) puts on what its peer can make it do: how often
 * it may ping, how many streams it may reset, and which late frames on closed streams are
 * forgiven. Each guard answers "allowed?" in O(1); the connection decides what a refusal costs
 * the peer (GOAWAY ENHANCE_YOUR_CALM).
 */

/**
 * grpc-go's keepalive enforcement, which etcd's gRPC server runs with MinTime =
 * --grpc-keepalive-min-time and PermitWithoutStream = false: a PING that comes sooner than
 * MinTime after the previous one (2 hours when the connection has no open stream) is a strike,
 * unless the server has sent HEADERS or DATA since that previous PING; a third strike in a row
 * ends the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
 */
export class PingPolicy {
  /** grpc-go's maxPingStrikes: strikes beyond it end the connection. */
  static readonly MAX_STRIKES = 2;
  /** grpc-go's defaultPingTimeout: the interval expected when no stream is open. */
  static readonly IDLE_INTERVAL_MS = 2 * 60 * 60 * 1000;
  private strikes = 0;
  private lastPingAt = -Infinity;
  /** Set whenever the connection sends HEADERS or DATA (grpc-go's resetPingStrikes). */
  sentSincePing = false;

  constructor(
    private readonly minTimeMs: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {}

  /** A PING arrived; false when it is the strike too many. */
  onPing(openStreams: number): boolean {
    const now = this.now();
    const last = this.lastPingAt;
    this.lastPingAt = now;
    if (this.sentSincePing) {
      this.sentSincePing = false;
      this.strikes = 0;
      return true;
    }
    const interval = openStreams < 1 ? PingPolicy.IDLE_INTERVAL_MS : this.minTimeMs;
    if (now - last < interval) this.strikes++;
    return this.strikes <= PingPolicy.MAX_STRIKES;
  }
}

/**
 * A token bucket for streams the peer resets while we still work on them (the "rapid reset"
 * attack, CVE-2023-44487: open a stream with a full request and cancel it at once, so the server
 * does the work and the peer never waits for it). Each such reset takes a token; tokens come
 * back at `perSecond`, up to `burst` (nghttp2's defaults are a burst of 1000 at 33/s).
 */
export class ResetBudget {
  private tokens: number;
  private at: number;

  constructor(
    private readonly burst = 1000,
    private readonly perSecond = 100,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.tokens = burst;
    this.at = this.now();
  }

  /** Takes a token; false when none is left. */
  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/**
 * Stream IDs we reset most recently. RFC 9113 §5.1: frames the peer sent before it saw our
 * RST_STREAM must be ignored, while frames on other closed streams are errors; remembering the
 * last few resets tells the two apart with bounded memory.
 */
export class RecentResets {
  private readonly ring: Int32Array;
  private readonly set = new Set<number>();
  private next = 0;

  constructor(size = 1024) {
    this.ring = new Int32Array(size);
  }

  add(id: number): void {
    if (this.set.has(id)) return;
    const old = this.ring[this.next]!;
    if (old !== 0) this.set.delete(old);
    this.ring[this.next] = id;
    this.set.add(id);
    this.next = (this.next + 1) % this.ring.length;
  }

  has(id: number): boolean {
    return this.set.has(id);
  }
}
