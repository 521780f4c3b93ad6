/**
 * The dvs.json that **DVS: Create dvs.json** writes: a two-node cluster with one DC, a
 * server, a client and a small protocol, so every part of the file is shown once.
 * The unit test validates it with the same loader the runtime and the server use.
 */
export function configTemplate(name = 'my-cluster'): string {
  const config = {
    $schema: 'https://dvs-ipc.dev/schemas/dvs.schema.json',
    cluster: { name },
    nodes: [
      { id: 0, name: 'node0' },
      { id: 1, name: 'node1' },
    ],
    dcs: [{ id: 0, name: 'dc0', nodes: [0, 1], nr_procs: 64, nr_tasks: 8, nr_sysprocs: 16 }],
    endpoints: [
      {
        name: 'SERVER',
        number: 1,
        dc: 0,
        node: 0,
        server: true,
        program: { build: 'make server', run: './server' },
      },
      {
        name: 'CLIENT',
        number: 20,
        dc: 0,
        node: 1,
        program: { build: 'make client', run: './client', args: ['100'] },
      },
    ],
    protocol: {
      types: [
        { name: 'REQ_GET', number: 1, layout: 'm1', fields: { key: 'm1_i1' }, reply: 'REP_OK', server: 'SERVER' },
        { name: 'REP_OK', number: 100, layout: 'm1', fields: { key: 'm1_i1', value: 'm1_i2' } },
      ],
    },
  };
  return JSON.stringify(config, null, 2) + '\n';
}
