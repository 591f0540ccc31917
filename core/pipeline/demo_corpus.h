#pragma once
// English text the demo model's tokenizer is trained on, so that its vocabulary holds real
// words even though its weights are random.

namespace querylens {

const char* demoCorpus();

}  // namespace querylens
