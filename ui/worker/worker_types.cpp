#include "worker/worker_types.h"

#include "worker/explain_types.h"

namespace querylens::ui {

void registerWorkerTypes()
{
    qRegisterMetaType<ModelInfo>();
    qRegisterMetaType<QueryCatalogue>();
    qRegisterMetaType<LoadOptions>();
    qRegisterMetaType<DecodingOptions>();
    qRegisterMetaType<GeneratedToken>();
    qRegisterMetaType<GenerationResult>();
    qRegisterMetaType<RgbImage>();
    qRegisterMetaType<ImageEncodingPtr>();
    qRegisterMetaType<GenerationRequest>();
    registerExplainTypes();
}

}  // namespace querylens::ui
