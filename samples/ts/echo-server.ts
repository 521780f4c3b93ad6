/**
 * echo-server - a TypeScript server used by the C client
 * samples/c/echo/echo_client.c (protocol: samples/c/echo/echo_proto.h):
 * each ECHO_REQUEST (m1_i1 sequence, m1_i2 value) is answered with
 * ECHO_REPLY (same sequence, value * 2).
 *
 *   dvs run --ep 10 -- node samples/ts/dist/echo-server.js [MAX]
 *
 * It serves MAX requests (default: forever), then unbinds.
 */
import { bind, DvsError } from '@dvs/runtime';

export const ECHO_DC = 0;
export const ECHO_SERVER = 10;
export const ECHO_REQUEST = 200;
export const ECHO_REPLY = 201;

async function main(): Promise<void> {
  const max = process.argv[2] === undefined ? Infinity : Number(process.argv[2]);
  const ep = await bind(ECHO_DC, ECHO_SERVER);
  console.log(`echo-server: serving on endpoint ${ep.endpoint}`);
  for (let served = 0; served < max; served++) {
    const req = await ep.rcvrqst();
    if (req.type !== ECHO_REQUEST) {
      await ep.reply(req.source, { type: -1 });
      continue;
    }
    try {
      await ep.reply(req.source, { type: ECHO_REPLY, m1_i1: req.m1_i1, m1_i2: req.m1_i2 * 2 });
    } catch (err) {
      // The client gave up or died: keep serving.
      if (!(err instanceof DvsError)) throw err;
      console.error(`echo-server: reply to ${req.source}: ${err.errname}`);
    }
  }
  await ep.unbind();
}

main().catch((err) => {
  console.error(`echo-server: ${(err as Error).message}`);
  process.exit(1);
});
