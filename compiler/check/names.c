/*
 * check/names.c - the names of activations and paddings, and the lookups of names that the
 * checker's files share: by index, with "did you mean", as identifiers.
 */
#include <string.h>

#include "check/check.h"

const char *const activation_names[] = {
    [ACT_NONE] = "none", [ACT_RELU] = "relu", [ACT_SIGMOID] = "sigmoid",
    [ACT_TANH] = "tanh", [ACT_SOFTMAX] = "softmax", NULL,
};

const char *const padding_names[] = {[PAD_VALID] = "valid", [PAD_SAME] = "same", NULL};

const char *activation_name(Activation a)
{
    if ((unsigned)a > ACT_SOFTMAX)
        unreachable();
    return activation_names[a];
}

const char *padding_name(Padding p)
{
    if ((unsigned)p > PAD_SAME)
        unreachable();
    return padding_names[p];
}

int name_index(const char *word, const char *const *names)
{
    if (!word)
        return -1;
    for (int i = 0; names[i]; i++)
        if (strcmp(word, names[i]) == 0)
            return i;
    return -1;
}

void error_unknown(Loc loc, const char *what, const char *word, const char *const *cands)
{
    if (!word)
        word = "";
    const char *hint = did_you_mean(word, cands);
    if (hint) {
        error_at(loc, "unknown %s '%s'; did you mean '%s'?", what, word, hint);
        return;
    }
    /* Nothing is close: list what is accepted, so the user need not open the manual. */
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; cands[i] && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                 cands[i]);
    error_at(loc, "unknown %s '%s' (expected one of: %s)", what, word, list);
}

bool is_identifier(const char *s)
{
    if (!s || !(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
        return false;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              (*s >= '0' && *s <= '9')))
            return false;
    return true;
}
