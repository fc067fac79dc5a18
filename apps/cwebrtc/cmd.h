/* apps/cwebrtc: one file per subcommand; main.c dispatches. */
#ifndef CWEBRTC_APP_CMD_H
#define CWEBRTC_APP_CMD_H

#include <stdbool.h>

int cmd_stun(int argc, char **argv);
int cmd_stun_server(int argc, char **argv);
int cmd_turn_server(int argc, char **argv);
int cmd_signal_server(int argc, char **argv);

/* Exit codes shared by the subcommands. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* the operation failed (no answer, bad answer, I/O error) */
#define EXIT_USAGE 2 /* bad command line */

/* "--name value" / "--name=value" option matching; advances *i past a separate value. */
bool app_opt(int argc, char **argv, int *i, const char *name, const char **value);

#endif
