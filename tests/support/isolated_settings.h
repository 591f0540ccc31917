#pragma once
// Each test suite its own settings and per-user folders (issue 18). The window keeps recent
// files, geometry, the chosen model, decoding values and more in QSettings, and writes into the
// XDG folders (batches, the embedding cache, sessions, the demo model): with one shared store, a
// suite's saved state leaked into the next suite, and a test passed or failed by the order the
// suites ran or by what the person running them had in ~/.config/QueryLens.

#include <QString>

namespace testsupport {

// Call first in initTestCase, before anything reads a setting or a standard location. Gives the
// process a folder of its own (under the system's temporary folder, removed when the process
// ends) and points there:
// - QSettings (user and system scope, native and INI format), as organisation "QueryLensTests"
//   and application `suiteName` (the executable's name when empty);
// - $XDG_CONFIG_HOME, $XDG_DATA_HOME, $XDG_CACHE_HOME and $XDG_STATE_HOME, so QStandardPaths and
//   core's default places (embedding cache, sessions, demo model, Hub downloads) are there too;
//   Qt's test mode stays off, as it would send QStandardPaths to ~/.qttest in the user's home;
// - the Hugging Face cache variables ($HF_HOME, $HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE) unset, so
//   the user's downloaded checkpoints are not seen.
// A process the suite starts (a child window it kills, say) inherits the folder through
// $QUERYLENS_TEST_STATE and uses it rather than make one, so a killed child leaves nothing
// behind once the suite ends. Returns the folder.
QString isolateSettings(const QString& suiteName = {});

}  // namespace testsupport
