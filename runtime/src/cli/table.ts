/** Text tables for the dvs command. */
import * as control from '../cluster/control';

/** table pads each column to its widest cell; rows[0] is the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (cell ?? '').padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** The columns of a process-table row, after PS_HEADER. */
export const PS_HEADER = ['DC', 'EP', 'PID', 'NAME', 'STATE', 'SENT', 'COPIES', 'QUEUED'];

export function psCells(p: control.ProcInfo): string[] {
  return [
    String(p.dc),
    String(p.endpoint),
    p.pid > 0 ? String(p.pid) : '-',
    p.name || '-',
    control.describeState(p) + primaryRole(p),
    String(p.lclsent + p.rmtsent),
    String(p.lclcopy + p.rmtcopy),
    String(p.nqueued),
  ];
}

/** The role of a primary that has standbys (bkupbind on other nodes), for dvs ps. */
function primaryRole(p: control.ProcInfo): string {
  if (p.flags.includes('REMOTE') || !p.bkup_nodes?.length) return '';
  return ` (primary; backups on node ${p.bkup_nodes.join(', ')})`;
}
