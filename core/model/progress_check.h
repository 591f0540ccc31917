#pragma once
// Turns a ProgressCallback's "stop" answer into the Cancelled outcome.

#include "querylens/error.h"
#include "querylens/progress.h"

namespace querylens::model {

inline void reportProgress(const ProgressCallback& callback, double fraction, const std::string& stage)
{
    if (callback && !callback(fraction, stage))
        throw Cancelled();
}

}  // namespace querylens::model
