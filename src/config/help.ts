/**
 * The --help text, generated from the flag table: the flags etcd-ts reads, by group, with
 * their defaults, then the flags accepted for compatibility.
 *
 * Mirrors the layout of etcd's server/etcdmain/help.go (usage lines, then one titled section
 * per flag group).
 */
import { COMPAT_FLAGS, type Group, SERVER_FLAGS } from './flag-table.js';

const GROUP_TITLES: Record<Group, string> = {
  member: 'Member',
  cluster: 'Clustering',
  security: 'Security',
  auth: 'Auth',
  monitor: 'Profiling and Monitoring',
  log: 'Logging',
  experimental: 'Experimental feature',
  ours: 'etcd-ts',
};

/** The --help text, generated from the flag table. */
export function helpText(): string {
  const lines = [
    'Usage:',
    '',
    '  etcd-ts [flags]',
    '    Start a single-member etcd v3 compatible server.',
    '',
    '  etcd-ts --version',
    '    Show the version of etcd-ts.',
    '',
    '  etcd-ts -h | --help',
    '    Show the help information about etcd-ts.',
    '',
    'Every flag --foo-bar may also be set with the environment variable ETCD_FOO_BAR;',
    'setting both is an error. --config-file is not supported.',
  ];
  for (const group of Object.keys(GROUP_TITLES) as Group[]) {
    lines.push('', `${GROUP_TITLES[group]}:`);
    for (const f of SERVER_FLAGS) {
      if (f.use?.group !== group) continue;
      const shown = f.use.shownDefault ?? f.def;
      lines.push(`  --${f.name} '${shown}'`, `    ${f.use.help}`);
    }
  }
  lines.push('', 'Accepted for compatibility with etcd 3.4/3.5 and ignored:');
  let line = ' ';
  for (const f of COMPAT_FLAGS) {
    const item = ` --${f.name}`;
    if (line.length + item.length > 100) {
      lines.push(line);
      line = ' ';
    }
    line += item;
  }
  lines.push(line, '');
  return lines.join('\n');
}
