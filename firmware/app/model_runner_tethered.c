/* Tethered model runner: the device sends each model input over the board's host link and reads the
 * int8 scores back; the host runs the int8 model (dadarts/firmware/stream.py, LiteRT). Front-end,
 * feature ring, recogniser and timing stay on the device, so a build without TFLM still runs the whole
 * streaming path on the chip. Wire format: "KWS1" + KWS_INPUT_SIZE int8 bytes out, KWS_NUM_LABELS
 * int8 bytes back. The Invoke time it reports is the host's round trip, not the model's. */
#include "board.h"
#include "model_runner.h"
#include "model_settings.h"

static int8_t input[KWS_INPUT_SIZE];
static int8_t output[KWS_NUM_LABELS];

int kws_model_init(void)
{
    return 0;
}

int8_t *kws_model_input(void)
{
    return input;
}

int kws_model_invoke(void)
{
    board_link_write("KWS1", 4);
    board_link_write((const char *)input, KWS_INPUT_SIZE);
    return board_link_read((char *)output, KWS_NUM_LABELS) == KWS_NUM_LABELS ? 0 : -1;
}

const int8_t *kws_model_output(void)
{
    return output;
}

/* The host keeps no state for the device: a step model (KWS_STREAMING) is not built tethered (CMakeLists.txt). */
void kws_model_reset_states(void)
{
}

uint32_t kws_model_state_bytes(void)
{
    return 0;
}

uint32_t kws_model_state_cycles(void)
{
    return 0;
}

uint32_t kws_model_arena_used(void)
{
    return 0;
}

uint32_t kws_model_arena_size(void)
{
    return 0;
}

const char *kws_model_description(void)
{
    return "tethered: the model runs on the host over the board's link";
}
