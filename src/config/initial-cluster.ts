/**
 * --initial-cluster: parsing it, and the bootstrap checks that it names this member with the
 * URLs of --initial-advertise-peer-urls.
 *
 * Mirrors etcd's types.NewURLsMap (client/pkg/types/urlsmap.go) and the checks etcd runs before
 * bootstrapping a new member (server/config/config.go: hasLocalMember, advertiseMatchesCluster
 * with netutil.URLStringsEqual's texts), reduced to the single member etcd-ts runs.
 */
import { ConfigError, msg, q } from './errors.js';
import type { ServerConfig } from './server-config.js';
import { parseUrls, urlString } from './urls.js';

/**
 * Parses an --initial-cluster value ("a=http://h:2380,b=…") into name → sorted URL strings
 * (etcd types.NewURLsMap). Throws ConfigError with etcd's text.
 */
export function parseInitialCluster(s: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  for (const item of s.split(',')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq >= 0 ? item.slice(0, eq) : item;
    const value = eq >= 0 ? item.slice(eq + 1) : '';
    byName.set(name, [...(byName.get(name) ?? []), value]);
  }
  const out = new Map<string, string[]>();
  for (const [name, values] of byName) {
    try {
      out.set(
        name,
        parseUrls(values, false).map((u) => u.str),
      );
    } catch (e) {
      throw new ConfigError(`error setting up initial cluster: ${msg(e)}`);
    }
  }
  return out;
}

/**
 * The bootstrap checks etcd runs when it creates a new member (a fresh data dir; an existing
 * one ignores every --initial-* flag). etcd-ts runs one member, so --initial-cluster must
 * list exactly this member, with the URLs of --initial-advertise-peer-urls. Throws ConfigError.
 */
export function checkInitialCluster(config: ServerConfig): void {
  if (config.initialClusterState === 'existing') {
    throw new ConfigError(
      'cannot fetch cluster info from peer urls: could not retrieve cluster information from the given URLs',
    );
  }
  const cluster = parseInitialCluster(config.initialCluster);
  const mine = cluster.get(config.name);
  if (mine === undefined) {
    throw new ConfigError(
      `couldn't find local name ${q(config.name)} in the initial cluster configuration`,
    );
  }
  const advertised = config.initialAdvertisePeerUrls.map(urlString).sort();
  const clusterStr = [...new Set(mine)].map((u) => `${config.name}=${u}`).join(',');
  if (advertised.length !== mine.length) {
    const goList = (l: string[]) => `[${l.map(q).join(' ')}]`;
    throw new ConfigError(
      `failed to resolve ${advertised.join(',')} to match --initial-cluster=${clusterStr} (len(${goList(advertised)}) != len(${goList(mine)}))`,
    );
  }
  // etcd resolves host names before comparing; without DNS, only localhost is resolved.
  const resolve = (u: string) => u.replace(/^([a-z]+:\/\/)localhost:/, '$1127.0.0.1:');
  for (let i = 0; i < advertised.length; i++) {
    const a = advertised[i] ?? '';
    const b = mine[i] ?? '';
    if (resolve(a) !== resolve(b)) {
      throw new ConfigError(
        `--initial-cluster has ${clusterStr} but missing from --initial-advertise-peer-urls=${advertised.join(',')} (resolved urls: ${q(a)} != ${q(b)})`,
      );
    }
  }
  if (cluster.size > 1) {
    throw new ConfigError(
      `etcd-ts runs a single member, but --initial-cluster lists ${cluster.size} members (${[...cluster.keys()].join(', ')})`,
    );
  }
}
