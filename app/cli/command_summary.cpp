#include "cli/commands.h"

namespace querylens::cli {

QString commandSummary()
{
    return QStringLiteral(
        "Commands:\n"
        "  caption IMAGE...          caption images, streaming the text\n"
        "  ask IMAGE \"QUESTION\"      answer a question about an image\n"
        "  chat IMAGE                a conversation: questions on stdin, one per line\n"
        "  chat [IMAGE] --session N  the same, kept as session N (continued when it exists)\n"
        "  sessions [list|show N|export N --format md|json|import FILE|delete N]\n"
        "                            the saved conversations\n"
        "  explain IMAGE --out FILE  write the Q-Former's attention maps and statistics\n"
        "  explain-words IMAGE       caption, then gradient maps of each word (GradCAM, relevancy, ...)\n"
        "  match IMAGE \"TEXT\"...     image-text matching: ITM probability and ITC similarity per text\n"
        "  localize IMAGE \"TEXT\"     where a phrase and each of its words are in the image\n"
        "  search FOLDER \"TEXT\"      rank a folder's images by a text (embeddings cached on disk)\n"
        "  batch INPUT... --out FILE caption or ask about folders, lists and WebDataset shards; resumable\n"
        "  merge-results OUT IN...   merge the results files of a batch's shards and check them\n"
        "  models                    list BLIP-2 checkpoints in the Hugging Face cache\n"
        "  download REPO[@REVISION]  download a BLIP-2 from the Hugging Face Hub (resumable, verified)\n"
        "  make-demo-model [DIR]     install the demo model: a small BLIP-2 trained on synthetic shapes\n"
        "                            (--random: the same geometry with random weights)\n"
        "  make-scenes DIR           write generated scenes with their ground truth (the demo's world)\n"
        "  train-demo --out DIR      train the demo model (BLIP-2's two stages in miniature, ~28 min)\n"
        "  eval-demo                 how well the demo model captions, answers and points (held-out scenes)\n\n"
        "Common options: --model DIR or REPO_ID (or $QUERYLENS_MODEL), --precision fp32|bf16|int8, --threads N,\n"
        "--max-new-tokens N, --beams N, --sample, --temperature T, --top-k K, --top-p P, --seed S,\n"
        "--repetition-penalty X, --no-repeat-ngram N, --num-captions N, --json.\n"
        "Exit codes: 0 done, 1 a failed load or bad input, 2 a usage error, 130 interrupted.\n");
}

}  // namespace querylens::cli
