#pragma once
// Writes the trained demo model as two standard Hugging Face checkpoints: stage 2 as
// Blip2ForConditionalGeneration (OPT, with its byte-level BPE) and stage 1 as
// Blip2ForImageTextRetrieval (Q-Former with its text branch, ITC projections, ITM head, and a
// WordPiece vocab.txt), each with config.json, preprocessor_config.json and the model card.

#include "train/demo_trainer.h"

#include <string>

namespace querylens::train {

// Every file of the stage-2 checkpoint but README.md. Throws Error naming the folder.
void writeGenerationCheckpoint(const DemoTrainer& trainer, const std::string& folder);
// Every file of the stage-1 checkpoint but README.md.
void writeRetrievalCheckpoint(const DemoTrainer& trainer, const std::string& folder);

// True for the Q-Former's text-branch weights and the trainer's heads, which a
// Blip2ForConditionalGeneration checkpoint does not hold.
bool isGenerationWeight(const std::string& name);
bool isRetrievalWeight(const std::string& name);

}  // namespace querylens::train
