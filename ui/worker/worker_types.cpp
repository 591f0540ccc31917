#include "worker/worker_types.h"

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
}

}  // namespace querylens::ui
