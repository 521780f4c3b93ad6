/**
 * @dvs/runtime/ipc - the TypeScript API of DVS IPC (SPEC §4). The native
 * addon is loaded on the first bind, never at import time.
 */
export {
  bind,
  waitForBind,
  addressOf,
  endpoints,
  asyncWaitMode,
  Endpoint,
  ANY,
  NONE,
  SELF,
  TIMEOUT_NOWAIT,
  NOTIFY_MESSAGE,
  NOTIFY_FROM,
  MAXCOPYLEN,
  type BindOptions,
  type CallOptions,
} from './endpoint';
export { DvsError } from './errors';
export {
  Message,
  MESSAGE_SIZE,
  type MessageInit,
  type MessageFields,
  type FieldName,
  type IntField,
  type LongField,
  type PointerField,
  type Timespec,
} from './message';
