// Links tandem_core alone: proves core/ needs nothing from sim/ or real_backend/ to link.
#include "core/env/env.h"

int main() { return 0; }
