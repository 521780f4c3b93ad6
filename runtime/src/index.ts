/**
 * @dvs/runtime - the cluster controller used by the `dvs` command and the
 * VS Code extension. It talks to node daemons over their control sockets and
 * never loads native code, so the extension host can import it safely.
 */
export * as control from './cluster/control';
export { startNode, stopNode, isRunning, logPath, type NodeSpec, type DcSpec } from './cluster/node';
export { runProgram, type RunSpec, type Running } from './cluster/launch';
export { defaultNodeDir, nodesRoot, dvsdPath, buildDir } from './cluster/paths';
export {
  Cluster,
  ConfigLoadError,
  clusterDir,
  runningClusters,
  dvsdSupportsMultiNode,
  type ClusterStatus,
  type ClusterNodeInfo,
  type LinkInfo,
  type UpOptions,
} from './cluster/cluster';
export { loadConfig, checkPrograms, type LoadedConfig } from './cluster/config';
export {
  subscribeTrace,
  traceHistory,
  traceRecording,
  mergeByCausality,
  formatEvent,
  showWallClock,
  typeName,
  parseFilter,
  toChromeTrace,
  toJsonLines,
  fromJsonLines,
  type TraceEvent,
  type TraceOp,
  type ProtocolType,
  type TraceSubscription,
  type TraceFilter,
} from './cluster/trace';
// The IPC API (also `@dvs/runtime/ipc`). Importing it loads no native code:
// the addon is loaded on the first bind.
export * from './ipc';
