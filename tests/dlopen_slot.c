/* A library loaded at run time by test_leak: its global is a root. */
void *leash_test_slot;
