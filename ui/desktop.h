#pragma once
// The desktop program: `querylens [--model DIR] [IMAGE...]` opens the window.

namespace querylens {

// Runs the window until it is closed; returns the exit code.
int runDesktop(int argc, char** argv);

}  // namespace querylens
