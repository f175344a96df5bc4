/* The allocator's options, set before `main` (and before any thread allocates).
 *
 * mimalloc keeps memory that was freed for a while before giving it back to the system
 * (`purge_delay`, 1 s in mimalloc 3), and only gives it back when the thread that freed it
 * allocates again. A login's argon2 computation takes 19 MiB on a blocking thread that may
 * then stay idle: after a burst of logins the server kept 40-60 MiB it no longer used. With
 * no delay, a freed span goes back to the system at once. Measured in docs/performance.md.
 *
 * This is C rather than Rust because setting the option is a foreign call (`unsafe`), and the
 * workspace forbids `unsafe` code; the header is the one of the mimalloc that is linked
 * (`DEP_MIMALLOC_INCLUDE_DIR`), so the option's number always matches. */
#include <stdlib.h>
#include <mimalloc.h>

__attribute__((constructor)) void ardoise_allocator_options(void) {
    /* An operator's MIMALLOC_PURGE_DELAY wins. */
    if (getenv("MIMALLOC_PURGE_DELAY") == NULL) {
        mi_option_set(mi_option_purge_delay, 0);
    }
}
