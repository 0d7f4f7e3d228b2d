/*
 * cmd/target.c - `--target NAME` for the commands that write C (emit, build, summary).
 */
#include "cmd/driver.h"

const Target *find_target(const char *command, const char *name)
{
    const Target *t = target_named(name);
    if (t != NULL)
        return t;
    const char *const *names = target_names();
    const char *hint = did_you_mean(name, names);
    if (hint != NULL) {
        usage_error(command, "unknown target '%s'; did you mean '%s'?", name, hint);
        return NULL;
    }
    char list[128] = "";
    size_t used = 0;
    for (int i = 0; names[i] != NULL && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "", names[i]);
    usage_error(command, "unknown target '%s' (the targets are %s)", name, list);
    return NULL;
}
