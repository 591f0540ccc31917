#pragma once
// The model `querylens make-demo-model` writes: a BLIP-2 OPT checkpoint in the Hugging Face
// layout with the real image geometry (224x224 images, 14x14 patches, 32 queries) but small
// widths and RANDOM weights, plus a byte-level BPE tokenizer trained on English sentences. It
// lets the program run with no download; its captions are random words, and every place that
// shows them says so.

#include "querylens/progress.h"

#include <string>

namespace querylens {

// Writes config.json, model.safetensors, vocab.json, merges.txt, the tokenizer's JSON files and
// preprocessor_config.json into `folder` (created if needed). Deterministic: the same files
// every time. Throws Error naming the folder when it cannot be written.
void writeDemoModel(const std::string& folder, const ProgressCallback& progress = {});

// The demo model that ships with QueryLens: a small BLIP-2 trained on synthetic shapes by
// `querylens train-demo` (not a real BLIP-2). Copies its files into `folder` (each written to a
// temporary name, then renamed). Returns false, having written the random-weight model instead,
// when the bundled one cannot be found.
bool installDemoModel(const std::string& folder, const ProgressCallback& progress = {});

// A folder QueryLens ships ("demo-model", "demo-itm", "demo-scenes"): under $QUERYLENS_RESOURCES,
// next to the program (../share/querylens), where `make install` puts it, or in the source tree
// of a build. Empty when none has it.
std::string bundledResourceFolder(const std::string& name);

// The folder the run script and the window use when no checkpoint is given:
// $XDG_DATA_HOME/querylens/demo-model (else ~/.local/share/querylens/demo-model).
std::string defaultDemoModelFolder();

}  // namespace querylens
