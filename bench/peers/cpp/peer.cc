// The C++ peer of cmd/bench, on Debian's libgrpc++ 1.51 (the same core as
// grpcpy): the same server and client modes, flags and RESULT line, so any
// client can be pointed at any server. Messages are raw bytes: the generic
// API (ByteBuffer) needs no generated code.
//
// Server: a callback generic service (the C++ server the issue measured),
// echoing each message. Client: the async API on completion queues, as the
// core's own qps benchmark drives it: W1/W2 keep `concurrency` unary calls in
// flight spread over one queue per core; W3 steps one bidi stream through a
// queue (write and read outstanding together); W4 keeps one write and one
// read outstanding on one stream.
//
// Build (scripts/bench.sh does it):
//   g++ -O2 -std=c++17 peer.cc $(pkg-config --cflags --libs grpc++) -o cpp-peer
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using Clock = std::chrono::steady_clock;
using grpc::ByteBuffer;
using grpc::Status;

namespace {

const char kUnary[] = "/bench.Echo/Unary";
const char kStream[] = "/bench.Echo/Stream";

// Flags in Go's flag syntax: -name=value, --name=value or --name value.
std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i];
    size_t dashes = a.rfind("--", 0) == 0 ? 2 : (a.rfind("-", 0) == 0 ? 1 : 0);
    if (dashes == 0) {
      std::fprintf(stderr, "cpp-peer: unexpected argument %s\n", a.c_str());
      std::exit(2);
    }
    a = a.substr(dashes);
    size_t eq = a.find('=');
    if (eq != std::string::npos) {
      f[a.substr(0, eq)] = a.substr(eq + 1);
    } else if (i + 1 < argc) {
      f[a] = argv[++i];
    } else {
      std::fprintf(stderr, "cpp-peer: flag --%s needs a value\n", a.c_str());
      std::exit(2);
    }
  }
  return f;
}

std::string Flag(const std::map<std::string, std::string>& f, const char* name,
                 const char* def) {
  auto it = f.find(name);
  return it == f.end() ? def : it->second;
}

// Echo answers both methods: Unary with one write-and-finish, Stream by
// echoing every message until the client half-closes.
class Echo : public grpc::ServerGenericBidiReactor {
 public:
  explicit Echo(bool unary) : unary_(unary) { StartRead(&msg_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(Status::OK);
    } else if (unary_) {
      StartWriteAndFinish(&msg_, grpc::WriteOptions(), Status::OK);
    } else {
      StartWrite(&msg_);
    }
  }
  void OnWriteDone(bool ok) override {
    if (ok) {
      StartRead(&msg_);
    } else {
      Finish(Status(grpc::StatusCode::CANCELLED, "write failed"));
    }
  }
  void OnDone() override { delete this; }

 private:
  bool unary_;
  ByteBuffer msg_;
};

class Unimplemented : public grpc::ServerGenericBidiReactor {
 public:
  Unimplemented() { Finish(Status(grpc::StatusCode::UNIMPLEMENTED, "")); }
  void OnDone() override { delete this; }
};

class Service : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    if (ctx->method() == kUnary) return new Echo(true);
    if (ctx->method() == kStream) return new Echo(false);
    return new Unimplemented();
  }
};

int RunServer(const std::map<std::string, std::string>& f) {
  std::string addr = Flag(f, "addr", "127.0.0.1:50051");
  // Block the stop signals before the core starts its threads, so that
  // only sigwait below sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Service service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials());
  builder.RegisterCallbackGenericService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "cpp-peer: cannot listen on %s\n", addr.c_str());
    return 1;
  }
  int sig;
  sigwait(&set, &sig);
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(900));
  return 0;
}

struct Result {
  long ops = 0;
  long long bytes = 0;
  std::vector<double> lat_us;
  bool no_latency = false;
  void Add(Clock::time_point t0, Clock::time_point t1, size_t n,
           Clock::time_point start, Clock::time_point end) {
    if (t1 > start && t1 <= end) {
      ops++;
      bytes += n;
      if (!no_latency) {
        lat_us.push_back(
            std::chrono::duration<double, std::micro>(t1 - t0).count());
      }
    }
  }
  void Merge(const Result& o) {
    ops += o.ops;
    bytes += o.bytes;
    lat_us.insert(lat_us.end(), o.lat_us.begin(), o.lat_us.end());
  }
};

struct Config {
  std::string addr, workload, impl;
  double duration, warmup;
  int concurrency, payload;
};

[[noreturn]] void Fail(const char* what, const Status& s) {
  std::fprintf(stderr, "cpp-peer: %s: %d %s\n", what, s.error_code(),
               s.error_message().c_str());
  std::exit(1);
}

ByteBuffer Payload(int n) {
  std::string bytes(n, '\0');
  grpc::Slice slice(bytes);
  return ByteBuffer(&slice, 1);
}

// Waits for the next event of a queue nobody else polls.
void Next(grpc::CompletionQueue* cq, const char* what) {
  void* tag;
  bool ok;
  if (!cq->Next(&tag, &ok) || !ok) {
    std::fprintf(stderr, "cpp-peer: %s failed\n", what);
    std::exit(1);
  }
}

// One unary call slot: finishing it starts the next call in its place.
struct Slot {
  std::unique_ptr<grpc::ClientContext> ctx;
  std::unique_ptr<grpc::ClientAsyncResponseReader<ByteBuffer>> rpc;
  ByteBuffer resp;
  Status status;
  Clock::time_point t0;
};

void StartUnary(grpc::GenericStub* stub, grpc::CompletionQueue* cq,
                const ByteBuffer& req, Slot* s, bool wait_for_ready = false) {
  s->ctx = std::make_unique<grpc::ClientContext>();
  s->ctx->set_wait_for_ready(wait_for_ready);
  s->ctx->set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  s->t0 = Clock::now();
  s->rpc = stub->PrepareUnaryCall(s->ctx.get(), kUnary, req, cq);
  s->rpc->StartCall();
  s->rpc->Finish(&s->resp, &s->status, s);
}

Result Unary(grpc::GenericStub* stub, const Config& c, const ByteBuffer& req,
             Clock::time_point start, Clock::time_point end) {
  int nq = std::min<int>(c.concurrency,
                         std::max(1u, std::thread::hardware_concurrency()));
  std::vector<Result> results(nq);
  std::vector<std::thread> threads;
  for (int q = 0; q < nq; q++) {
    int slots = c.concurrency / nq + (q < c.concurrency % nq ? 1 : 0);
    threads.emplace_back([&, q, slots] {
      grpc::CompletionQueue cq;
      std::vector<Slot> s(slots);
      for (auto& slot : s) StartUnary(stub, &cq, req, &slot);
      int live = slots;
      void* tag;
      bool ok;
      while (live > 0 && cq.Next(&tag, &ok)) {
        Slot* slot = static_cast<Slot*>(tag);
        Clock::time_point t1 = Clock::now();
        if (!ok || !slot->status.ok()) Fail("unary call", slot->status);
        results[q].Add(slot->t0, t1, slot->resp.Length(), start, end);
        if (t1 < end) {
          StartUnary(stub, &cq, req, slot);
        } else {
          live--;
        }
      }
      cq.Shutdown();
      while (cq.Next(&tag, &ok)) {
      }
    });
  }
  Result total;
  for (int q = 0; q < nq; q++) {
    threads[q].join();
    total.Merge(results[q]);
  }
  return total;
}

Result PingPong(grpc::GenericStub* stub, const ByteBuffer& req,
                Clock::time_point start, Clock::time_point end) {
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto rw = stub->PrepareCall(&ctx, kStream, &cq);
  rw->StartCall(nullptr);
  Next(&cq, "stream start");
  Result r;
  ByteBuffer resp;
  for (;;) {
    Clock::time_point t0 = Clock::now();
    if (t0 > end) break;
    rw->Write(req, nullptr);
    rw->Read(&resp, nullptr);
    Next(&cq, "ping-pong");
    Next(&cq, "ping-pong");
    r.Add(t0, Clock::now(), resp.Length(), start, end);
  }
  rw->WritesDone(nullptr);
  Next(&cq, "half-close");
  Status status;
  rw->Finish(&status, nullptr);
  Next(&cq, "finish");
  if (!status.ok()) Fail("stream", status);
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return r;
}

Result Throughput(grpc::GenericStub* stub, const ByteBuffer& req,
                  Clock::time_point start, Clock::time_point end) {
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  auto rw = stub->PrepareCall(&ctx, kStream, &cq);
  enum Tag { kStart = 1, kWrite, kWritesDone, kRead, kFinish };
  auto tag = [](Tag t) { return reinterpret_cast<void*>(t); };
  rw->StartCall(tag(kStart));
  Result r;
  r.no_latency = true;
  ByteBuffer resp;
  Status status;
  void* got;
  bool ok;
  bool finished = false;
  while (!finished && cq.Next(&got, &ok)) {
    switch (static_cast<Tag>(reinterpret_cast<intptr_t>(got))) {
      case kStart:
        if (!ok) Fail("stream start", Status::CANCELLED);
        rw->Write(req, tag(kWrite));
        rw->Read(&resp, tag(kRead));
        break;
      case kWrite:
        if (!ok) Fail("write", Status::CANCELLED);
        if (Clock::now() < end) {
          rw->Write(req, tag(kWrite));
        } else {
          rw->WritesDone(tag(kWritesDone));
        }
        break;
      case kWritesDone:
        break;
      case kRead:
        if (!ok) {
          rw->Finish(&status, tag(kFinish));
          break;
        }
        r.Add(Clock::now(), Clock::now(), resp.Length(), start, end);
        rw->Read(&resp, tag(kRead));
        break;
      case kFinish:
        if (!status.ok()) Fail("stream", status);
        finished = true;
        break;
    }
  }
  cq.Shutdown();
  while (cq.Next(&got, &ok)) {
  }
  return r;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100 * v.size()));
  return v[std::max<size_t>(rank, 1) - 1];
}

int RunClient(const std::map<std::string, std::string>& f) {
  Config c;
  c.addr = Flag(f, "addr", "127.0.0.1:50051");
  c.workload = Flag(f, "workload", "W1");
  c.impl = Flag(f, "impl", "c++");
  c.duration = std::atof(Flag(f, "duration", "5").c_str());
  c.warmup = std::atof(Flag(f, "warmup", "1").c_str());
  c.concurrency = std::atoi(Flag(f, "concurrency", "1").c_str());
  c.payload = std::atoi(Flag(f, "payload", "32").c_str());
  if (c.workload == "W4" && f.count("payload") == 0) c.payload = 64 << 10;
  if (c.workload != "W2") c.concurrency = 1;
  if (c.concurrency < 1) c.concurrency = 1;

  auto channel =
      grpc::CreateChannel(c.addr, grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  ByteBuffer req = Payload(c.payload);
  {
    // The first call waits for the server, as the other peers' do.
    grpc::CompletionQueue cq;
    Slot s;
    StartUnary(&stub, &cq, req, &s, /*wait_for_ready=*/true);
    Next(&cq, "first call");
    if (!s.status.ok()) Fail("first call", s.status);
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
  }
  auto us = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(s));
  };
  Clock::time_point start = Clock::now() + us(c.warmup);
  Clock::time_point end = start + us(c.duration);
  Result r;
  if (c.workload == "W1" || c.workload == "W2") {
    r = Unary(&stub, c, req, start, end);
  } else if (c.workload == "W3") {
    r = PingPong(&stub, req, start, end);
  } else if (c.workload == "W4") {
    r = Throughput(&stub, req, start, end);
  } else {
    std::fprintf(stderr, "cpp-peer: unknown workload %s\n",
                 c.workload.c_str());
    return 2;
  }
  std::sort(r.lat_us.begin(), r.lat_us.end());
  char p50[32] = "NA", p99[32] = "NA";
  if (!r.no_latency) {
    std::snprintf(p50, sizeof p50, "%.1f", Percentile(r.lat_us, 50));
    std::snprintf(p99, sizeof p99, "%.1f", Percentile(r.lat_us, 99));
  }
  std::printf(
      "RESULT impl=%s workload=%s payload=%d concurrency=%d duration_s=%.2f "
      "ops=%ld ops_per_s=%.1f mb_per_s=%.3f p50_us=%s p99_us=%s\n",
      c.impl.c_str(), c.workload.c_str(), c.payload, c.concurrency, c.duration,
      r.ops, r.ops / c.duration, r.bytes / c.duration / 1e6, p50, p99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cpp-peer server|client [flags]\n");
    return 2;
  }
  std::string mode = argv[1];
  auto flags = ParseFlags(argc - 2, argv + 2);
  if (mode == "server") return RunServer(flags);
  if (mode == "client") return RunClient(flags);
  std::fprintf(stderr, "cpp-peer: unknown mode %s\n", mode.c_str());
  return 2;
}
