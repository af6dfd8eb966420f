// The real world's commands: `tandem head`, `tandem node` (daemons of a cluster file) and `tandem cluster up`
// (a whole cluster as local processes, for trying the real backend on one machine).
#pragma once

namespace tandem::cli {

int head_command(int argc, char** argv);
int node_command(int argc, char** argv);
int cluster_command(int argc, char** argv);

}  // namespace tandem::cli
