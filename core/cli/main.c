/* mailport: parse the command line, load the plugins, run one command. */
#include "commands.h"
#include "log.h"
#include "options.h"
#include "registry.h"
#include "state_cmd.h"

#include <gmime/gmime.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int (*command_fn)(const mp_registry *, const mp_options *);

static const struct {
    const char *name;
    command_fn run;
} commands[] = {
    {"copy", mp_cmd_copy},
    {"verify", mp_cmd_verify},
    {"list", mp_cmd_list},
    {"plugins", mp_cmd_plugins},
};

static int load_plugins(mp_registry *reg)
{
    char err[1024];
    char *conf = mp_registry_default_conf();
    int rc = mp_registry_load(reg, conf, err, sizeof err);
    free(conf);
    if (rc) {
        mp_error("%s", err);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Files and folders we create are private (DESIGN §7). */
    umask(077);
    /* A peer closing a connection must be an error, not a silent death. */
    signal(SIGPIPE, SIG_IGN);

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0)
            mp_print_help(argv[2]);
        else
            mp_print_help("");
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mailport %s (plugin ABI %d.%d)\n", MP_VERSION, MP_ABI_MAJOR,
               MP_ABI_MINOR);
        return 0;
    }
    const char *name = argv[1];
    /* Housekeeping of the state files: no plugins needed. */
    if (strcmp(name, "state") == 0)
        return mp_cmd_state(argc - 1, argv + 1);
    command_fn run = NULL;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            run = commands[i].run;
    if (!run && strcmp(name, "batch") != 0) {
        fprintf(stderr,
                "mailport: unknown command \"%s\"\nTry 'mailport --help'.\n",
                name);
        return 2;
    }

    g_mime_init();
    mp_registry reg = {0};
    int code;
    if (strcmp(name, "batch") == 0) {
        /* Look at -q/-v first so that plugin loading obeys them. */
        for (int i = 2; i < argc; i++)
            if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
                mp_log_set_level(MP_LOG_ERROR);
        if (argc >= 3 &&
            (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            mp_print_help("batch");
            code = 0;
        } else {
            code =
                load_plugins(&reg) ? 2 : mp_cmd_batch(&reg, argc - 1, argv + 1);
        }
    } else {
        mp_options opt;
        int rc = mp_options_parse(&opt, name, argc - 1, argv + 1);
        if (rc) {
            g_mime_shutdown();
            return rc == 1 ? 0 : 2;
        }
        static const int levels[] = {MP_LOG_ERROR, MP_LOG_WARN, MP_LOG_INFO,
                                     MP_LOG_DEBUG};
        mp_log_set_level(levels[opt.verbosity > 3 ? 3 : opt.verbosity]);
        code = load_plugins(&reg) ? 2 : run(&reg, &opt);
        mp_options_free(&opt);
    }
    mp_registry_free(&reg);
    g_mime_shutdown();
    return code;
}
