/*
 * fuzz_wire.c - libFuzzer target for the proxy wire decoder.
 *
 * Every input is a candidate frame from an untrusted peer. The decoder must
 * reject it or return a frame whose fields are in range, never read past
 * the header, and a frame it accepts must survive encode -> decode.
 * Run by run-fuzz.sh (ctest: fuzz_wire) for a bounded time; seeds in
 * corpus/ (one valid frame per command, BKUP_GONE and BKUP_RESET included).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < WIRE_HDR_SIZE)
        return 0;
    /* A copy of exactly one header: ASan flags any read beyond it. */
    unsigned char *h = malloc(WIRE_HDR_SIZE);
    memcpy(h, data, WIRE_HDR_SIZE);
    struct wire_frame f;
    const char *why = NULL;
    if (wire_decode(h, &f, &why) == OK) {
        if (f.len > WIRE_MAX_PAYLOAD || f.dcid < 0 || f.dcid >= NR_DCS ||
            f.snode < 0 || f.snode >= NR_NODES || f.dnode < 0 ||
            f.dnode >= NR_NODES || f.v_bytes > MAXCOPYLEN)
            abort();
        /* A standby's death names one endpoint and carries nothing. */
        if (f.cmd == CMD_BKUP_GONE &&
            (f.len != 0 || f.dst == ANY || f.dst == NONE || f.dst == SELF))
            abort();
        if (f.cmd == CMD_BKUP_RESET && f.len != 0)
            abort();
        unsigned char again[WIRE_HDR_SIZE];
        struct wire_frame g;
        wire_encode(&f, again);
        if (wire_decode(again, &g, NULL) != OK || memcmp(&f, &g, sizeof(f)))
            abort();
    } else if (!why) {
        abort(); /* every refusal says why */
    }
    free(h);
    return 0;
}
