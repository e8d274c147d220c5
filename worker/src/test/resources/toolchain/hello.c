/* The program of ToolchainTest's container image (FROM scratch): built static in the VM. */
#include <stdio.h>

int main(void) {
    puts("hello from a container");
    return 0;
}
