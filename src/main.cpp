#include "cli/common.h"

int main(int argc, char** argv) { return attn::cli::main(argc, argv); }
