/* The cwebrtc command: small tools built on the library, one subcommand per file. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cwebrtc/common.h"

static void usage(FILE *f) {
    fprintf(f,
            "cwebrtc %s\n"
            "usage:\n"
            "  cwebrtc stun HOST[:PORT] [--tcp] [--rto MS] [--software]\n"
            "        send a STUN binding request; print the mapped address and RTT\n"
            "  cwebrtc stun-server --listen ADDR:PORT [--listen ...] [--threads N] [--no-tcp]\n"
            "        answer STUN binding requests over UDP and TCP\n"
            "  cwebrtc turn-server --listen ADDR:PORT --realm REALM --user NAME:PASS ...\n"
            "        a TURN relay (RFC 8656); see `cwebrtc turn-server --help`\n"
            "  cwebrtc signal-server --listen ADDR:PORT [--web DIR]  signaling rooms + web page\n"
            "  cwebrtc echo-bot --room R [--signal URL] [--negotiated-id N]...\n"
            "        join room R and echo every data-channel message back\n"
            "  cwebrtc recv --room R [--signal URL] [--out DIR] [--count N]\n"
            "        receive N files (default 1) sent by a peer of room R, check SHA-256\n"
            "  cwebrtc send FILE --room R [--signal URL] [--peers K]\n"
            "        send FILE to K peers (default 1) of room R, wait for their file-ok\n"
            "  cwebrtc chat --room R [--signal URL] [--out DIR]\n"
            "        stdin lines to everyone in room R, their lines to stdout\n"
            "        (URL: the signal-server's WebSocket, default " APP_DEFAULT_SIGNAL ")\n"
            "  cwebrtc help\n",
            rtc_version());
}

bool app_opt(int argc, char **argv, int *i, const char *name, const char **value) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != '\0') return false;
    if (*i + 1 >= argc) {
        *value = NULL; /* caller reports the missing value */
        return true;
    }
    *value = argv[++*i];
    return true;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "stun") == 0) return cmd_stun(argc - 1, argv + 1);
    if (strcmp(cmd, "stun-server") == 0) return cmd_stun_server(argc - 1, argv + 1);
    if (strcmp(cmd, "turn-server") == 0) return cmd_turn_server(argc - 1, argv + 1);
    if (strcmp(cmd, "signal-server") == 0) return cmd_signal_server(argc - 1, argv + 1);
    if (strcmp(cmd, "echo-bot") == 0) return cmd_echo_bot(argc - 1, argv + 1);
    if (strcmp(cmd, "recv") == 0) return cmd_recv(argc - 1, argv + 1);
    if (strcmp(cmd, "send") == 0) return cmd_send(argc - 1, argv + 1);
    if (strcmp(cmd, "chat") == 0) return cmd_chat(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("cwebrtc %s\n", rtc_version());
        return EXIT_OK;
    }
    fprintf(stderr, "cwebrtc: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
