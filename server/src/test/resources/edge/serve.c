/* A container that serves HTTP on port 8080 (the tests publish it as the VM's port 8000):
 * answers every connection with one fixed response. Built static in the VM, run FROM scratch. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    static const char response[] =
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 23\r\n\r\nhello from port 8080 \r\n";
    int one = 1;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(8080)};
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 16) != 0)
        return 1;
    for (;;) {
        char request[4096];
        int connection = accept(listener, NULL, NULL);
        if (connection < 0)
            continue;
        (void)read(connection, request, sizeof request);
        (void)write(connection, response, sizeof response - 1);
        close(connection);
    }
}
