/* Host test of the printing responder: one line per detection with label, score and time. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "responder.h"

int main(void)
{
    char line[128] = {0};
    CHECK(freopen("kws_test_responder.txt", "w", stdout) != NULL);
    kws_respond(1250, "yes", 231);
    kws_respond(4000, "stop", 200);
    fflush(stdout);
    FILE *f = fopen("kws_test_responder.txt", "r");
    CHECK(f && fgets(line, sizeof(line), f) && strcmp(line, "detected yes score 231 at 1250 ms\n") == 0);
    CHECK(f && fgets(line, sizeof(line), f) && strcmp(line, "detected stop score 200 at 4000 ms\n") == 0);
    if (f) {
        fclose(f);
    }
    remove("kws_test_responder.txt");
    CHECK_DONE();
}
