/* apps/cwebrtc: one file per subcommand; main.c dispatches. */
#ifndef CWEBRTC_APP_CMD_H
#define CWEBRTC_APP_CMD_H

#include <stdbool.h>

int cmd_stun(int argc, char **argv);
int cmd_stun_server(int argc, char **argv);
int cmd_turn_server(int argc, char **argv);
int cmd_signal_server(int argc, char **argv);
/* The C peers of the signaling protocol (room.h, docs/signaling.md "The C peers"). */
int cmd_echo_bot(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_chat(int argc, char **argv);

#define APP_DEFAULT_SIGNAL "ws://127.0.0.1:8080/ws"

/* Exit codes shared by the subcommands. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* the operation failed (no answer, bad answer, I/O error) */
#define EXIT_USAGE 2 /* bad command line */

/* "--name value" / "--name=value" option matching; advances *i past a separate value. */
bool app_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
