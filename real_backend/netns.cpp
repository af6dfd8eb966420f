#include "real_backend/netns.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/common/check.h"

namespace tandem::real {
namespace {

std::string join(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& arg : argv) out += (out.empty() ? "" : " ") + arg;
  return out;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 24) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// A zombie (killed, not yet reaped) does not run.
bool process_runs(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return false;
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

}  // namespace

CommandOutput run_command(const std::vector<std::string>& argv) {
  CommandOutput result;
  if (argv.empty()) return result;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (std::string& arg : args) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    result.output = std::string("fork: ") + std::strerror(errno);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return result;
  }
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::execvp(c_argv[0], c_argv.data());
    const std::string message = std::string("cannot run ") + c_argv[0] + ": " + std::strerror(errno) + "\n";
    [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, message.data(), message.size());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.output.append(buffer, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Result<std::unique_ptr<NetnsNetwork>> NetnsNetwork::create(const std::string& tag,
                                                           const std::vector<std::string>& members,
                                                           const std::string& subnet) {
  if (::geteuid() != 0) {
    return make_error(Errc::kUnavailable, "network namespaces need root (running as uid " +
                                              std::to_string(::geteuid()) + ")");
  }
  if (!valid_name(tag)) return make_error(Errc::kInvalidArgument, "namespace tag \"" + tag + "\" (fix: letters, digits, '-')");
  if (members.empty() || members.size() > 16) {
    return make_error(Errc::kInvalidArgument, "1 to 16 members, got " + std::to_string(members.size()));
  }
  std::unique_ptr<NetnsNetwork> net(new NetnsNetwork());
  net->subnet_ = subnet;
  const std::string prefix = tag + std::to_string(::getpid()) + "-";
  net->hub_ = prefix + "hub";
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string& name = members[i];
    if (!valid_name(name) || name == "hub" || net->members_.count(name) != 0) {
      return make_error(Errc::kInvalidArgument,
                        "member name \"" + name + "\" (fix: unique, not \"hub\", letters, digits, '-')");
    }
    net->members_[name] = {prefix + name, subnet + "." + std::to_string(i + 2)};
  }

  // The first namespace tells whether this machine allows them at all.
  if (Status s = net->ip({"netns", "add", net->hub_}); !s.ok()) {
    return make_error(Errc::kUnavailable, "ip netns is not usable here: " + s.error().message);
  }
  net->created_.push_back(net->hub_);
  const std::string& hub = net->hub_;
  // Entering a namespace is the second half of the question: in a chroot whose "/" is not a mount point,
  // `ip netns add` works but `ip -n` cannot make "/" a slave mount and fails.
  if (Status s = net->ip({"-n", hub, "link", "set", "lo", "up"}); !s.ok()) {
    return make_error(Errc::kUnavailable, "ip netns is not usable here: " + s.error().message);
  }
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"-n", hub, "link", "add", "br0", "type", "bridge"},
           {"-n", hub, "addr", "add", net->hub_address() + "/24", "dev", "br0"},
           {"-n", hub, "link", "set", "br0", "up"}}) {
    if (Status s = net->ip(args); !s.ok()) return make_error(Errc::kInternal, s.error().message);
  }
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& [ns, address] = net->members_.at(members[i]);
    if (Status s = net->ip({"netns", "add", ns}); !s.ok()) return make_error(Errc::kInternal, s.error().message);
    net->created_.push_back(ns);
    const std::string veth = "v" + std::to_string(i);
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
             {"-n", ns, "link", "set", "lo", "up"},
             {"-n", hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
             {"-n", hub, "link", "set", veth, "master", "br0"},
             {"-n", hub, "link", "set", veth, "up"},
             {"-n", ns, "addr", "add", address + "/24", "dev", "eth0"},
             {"-n", ns, "link", "set", "eth0", "up"}}) {
      if (Status s = net->ip(args); !s.ok()) return make_error(Errc::kInternal, s.error().message);
    }
  }
  return net;
}

NetnsNetwork::~NetnsNetwork() {
  // Members first, the hub last; deleting a namespace deletes its veth ends and routes.
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    if (Status s = ip({"netns", "del", *it}); !s.ok()) {
      std::fprintf(stderr, "netns: %s\n", s.error().message.c_str());
    }
  }
}

void NetnsNetwork::remove_stale(const std::string& tag) {
  const CommandOutput list = run_command({"ip", "netns", "list"});
  if (list.exit_code != 0) return;
  size_t start = 0;
  while (start < list.output.size()) {
    size_t end = list.output.find('\n', start);
    if (end == std::string::npos) end = list.output.size();
    const std::string line = list.output.substr(start, end - start);
    start = end + 1;
    const std::string name = line.substr(0, line.find(' '));  // "name (id: 3)"
    if (name.rfind(tag, 0) != 0) continue;
    const std::string rest = name.substr(tag.size());
    const size_t dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    const std::string pid = rest.substr(0, dash);
    if (!std::all_of(pid.begin(), pid.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    if (process_runs(pid)) continue;  // its owner still runs
    // Processes its owner started there (in their own process groups) outlived it: end them first.
    const CommandOutput pids = run_command({"ip", "netns", "pids", name});
    if (pids.exit_code == 0) {
      size_t at = 0;
      while (at < pids.output.size()) {
        size_t stop = pids.output.find('\n', at);
        if (stop == std::string::npos) stop = pids.output.size();
        const std::string text = pids.output.substr(at, stop - at);
        at = stop + 1;
        if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          ::kill(static_cast<pid_t>(std::stol(text)), SIGKILL);
        }
      }
    }
    run_command({"ip", "netns", "del", name});
  }
}

std::string NetnsNetwork::namespace_of(const std::string& member) const {
  if (member == "hub") return hub_;
  auto it = members_.find(member);
  TANDEM_CHECK(it != members_.end(), "namespace_of() an unknown member");
  return it->second.first;
}

std::string NetnsNetwork::address_of(const std::string& member) const {
  if (member == "hub") return hub_address();
  auto it = members_.find(member);
  TANDEM_CHECK(it != members_.end(), "address_of() an unknown member");
  return it->second.second;
}

std::vector<std::string> NetnsNetwork::exec_argv(const std::string& namespace_name,
                                                 const std::vector<std::string>& argv) {
  std::vector<std::string> out = {"ip", "netns", "exec", namespace_name};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status NetnsNetwork::ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandOutput run = run_command(argv);
  if (run.exit_code == 0) return {};
  return make_error(Errc::kInternal, "`" + join(argv) + "` failed (exit " + std::to_string(run.exit_code) +
                                         "): " + trimmed(run.output));
}

Status NetnsNetwork::cut_address(const std::string& from, const std::string& address) {
  std::vector<std::string>& cut = cuts_[from];
  if (std::find(cut.begin(), cut.end(), address) != cut.end()) return {};
  if (Status s = ip({"-n", namespace_of(from), "route", "add", "blackhole", address + "/32"}); !s.ok()) return s;
  cut.push_back(address);
  return {};
}

Status NetnsNetwork::heal_address(const std::string& from, const std::string& address) {
  std::vector<std::string>& cut = cuts_[from];
  auto it = std::find(cut.begin(), cut.end(), address);
  if (it == cut.end()) return {};
  if (Status s = ip({"-n", namespace_of(from), "route", "del", "blackhole", address + "/32"}); !s.ok()) return s;
  cut.erase(it);
  return {};
}

Status NetnsNetwork::cut(const std::string& from, const std::string& to) {
  return cut_address(from, address_of(to));
}

Status NetnsNetwork::heal(const std::string& from, const std::string& to) {
  return heal_address(from, address_of(to));
}

Status NetnsNetwork::partition(const std::string& a, const std::string& b) {
  if (Status s = cut(a, b); !s.ok()) return s;
  return cut(b, a);
}

Status NetnsNetwork::isolate(const std::string& member) {
  namespace_of(member);  // checks it exists
  std::vector<std::string> others = {"hub"};
  for (const auto& [name, unused] : members_) others.push_back(name);
  for (const std::string& other : others) {
    if (other == member) continue;
    if (Status s = partition(member, other); !s.ok()) return s;
  }
  return {};
}

Status NetnsNetwork::heal_all() {
  for (auto& [from, addresses] : cuts_) {
    while (!addresses.empty()) {
      if (Status s = heal_address(from, addresses.back()); !s.ok()) return s;
    }
  }
  return {};
}

bool NetnsNetwork::is_cut(const std::string& from, const std::string& to) const {
  auto it = cuts_.find(from);
  if (it == cuts_.end()) return false;
  return std::find(it->second.begin(), it->second.end(), address_of(to)) != it->second.end();
}

}  // namespace tandem::real
