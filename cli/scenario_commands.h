// The scenario commands of `tandem`: run, check, sweep, replay, list (and demo, which runs the default
// scenario). Each takes the arguments after the command name and returns the process exit code:
// 0 = everything held, 1 = a check failed or a scenario is invalid, 2 = bad arguments.
#pragma once

namespace tandem::cli {

int run_command(int argc, char** argv);
int check_command(int argc, char** argv);
int sweep_command(int argc, char** argv);
int replay_command(int argc, char** argv);
int list_command(int argc, char** argv);
int demo_command(int argc, char** argv);

}  // namespace tandem::cli
