#include "worker/explain_types.h"

namespace querylens::ui {

void registerExplainTypes()
{
    qRegisterMetaType<WordExplanations>();
    qRegisterMetaType<FaithfulnessReport>();
    qRegisterMetaType<PhraseLocalization>();
    qRegisterMetaType<SearchOutcome>();
}

}  // namespace querylens::ui
