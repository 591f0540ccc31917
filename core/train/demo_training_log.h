#pragma once
// training_log.json beside a trained demo checkpoint: every `train-demo` invocation that led to
// it, oldest first, with each stage's steps, time and loss curve. A run that resumes from an
// earlier folder carries that folder's log forward, so the model card of a checkpoint made in
// several invocations still shows all of them.

#include "querylens/demo_training.h"

#include <string>
#include <vector>

namespace querylens::train {

// The invocations recorded in FOLDER/training_log.json; none when the file is absent (a folder
// written before the log existed). A file that is there but unreadable is an Error naming it.
std::vector<DemoInvocation> readTrainingLog(const std::string& folder);

// Writes FOLDER/training_log.json (atomically).
void writeTrainingLog(const std::string& folder, const std::vector<DemoInvocation>& invocations);

}  // namespace querylens::train
