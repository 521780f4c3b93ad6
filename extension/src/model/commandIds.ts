/**
 * Every command the extension contributes, in one table. `main.ts` registers a handler
 * for each (the type makes a missing one a compile error) and the manifest test checks
 * that package.json declares exactly these.
 */
export const COMMANDS = [
  'dvs.startCluster',
  'dvs.stopCluster',
  'dvs.showTrace',
  'dvs.exportTrace',
  'dvs.createConfig',
  'dvs.refreshCluster',
  'dvs.showLogs',
  'dvs.endpoint.stop',
  'dvs.endpoint.restart',
  'dvs.endpoint.kill',
  'dvs.endpoint.migrate',
  'dvs.link.cut',
  'dvs.link.restore',
  'dvs.node.crash',
  'dvs.node.restart',
] as const;

export type CommandId = (typeof COMMANDS)[number];

/** Setting keys (all under `dvs.`); the manifest test compares them with package.json. */
export const SETTINGS = [
  'dvs.configFile',
  'dvs.runtimePath',
  'dvs.clusterView.logRefreshes',
  'dvs.trace.maxEvents',
  'dvs.trace.openOnStart',
  'dvs.trace.server',
] as const;
