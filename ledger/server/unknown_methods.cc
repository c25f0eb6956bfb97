#include "ledger/server/unknown_methods.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ledger/server/async_calls.h"
#include "ledger/server/grpc_status.h"

namespace govledger {

// One call, from its arrival to its answer; deletes itself when gRPC reports the answer done.
class UnknownMethods::Call final : public CallStep {
 public:
  Call(UnknownMethods* owner, grpc::ServerCompletionQueue* cq) : owner_(owner), cq_(cq) {}

  void Request() { owner_->service_.RequestCall(&context_, &stream_, cq_, cq_, this); }

  void Proceed(bool ok) override {
    if (!ok || answered_) {  // answered, or the server is shutting down
      delete this;
      return;
    }
    answered_ = true;
    owner_->Await(cq_);  // the next such call finds a slot
    stream_.Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                CutForStatus(owner_->MessageFor(context_.method()),
                                             kMaxStatusMessageBytes)),
                   this);
  }

 private:
  ~Call() = default;

  UnknownMethods* const owner_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::GenericServerContext context_;
  grpc::GenericServerAsyncReaderWriter stream_{&context_};
  bool answered_ = false;
};

UnknownMethods::UnknownMethods(std::vector<std::string> services)
    : services_(std::move(services)) {}

void UnknownMethods::Listen(grpc::ServerCompletionQueue* cq, int slots) {
  for (int i = 0; i < slots; ++i) Await(cq);
}

void UnknownMethods::Await(grpc::ServerCompletionQueue* cq) {
  auto* call = new Call(this, cq);
  call->Request();
}

std::string UnknownMethods::MessageFor(const std::string& method) const {
  // "/package.Service/Method"
  const size_t slash = method.rfind('/');
  const std::string service =
      slash == std::string::npos || slash == 0 ? "" : method.substr(1, slash - 1);
  const std::string name = slash == std::string::npos ? method : method.substr(slash + 1);
  if (std::find(services_.begin(), services_.end(), service) != services_.end()) {
    std::vector<std::string> methods;
    if (const google::protobuf::ServiceDescriptor* d =
            google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service)) {
      for (int i = 0; i < d->method_count(); ++i) methods.push_back(d->method(i)->name());
    }
    return absl::StrCat(service, " has no method ", name, "; it has ",
                        absl::StrJoin(methods, ", "),
                        ". A client built from an older or newer govledger's .proto files may "
                        "name one this govledgerd does not have");
  }
  return absl::StrCat("govledgerd has no service ", service.empty() ? method : service,
                      "; it serves ", absl::StrJoin(services_, ", "),
                      " and server reflection (grpc.reflection.v1alpha.ServerReflection), which "
                      "lists them with their methods");
}

}  // namespace govledger
