#include "nebula_native.h"

namespace nebula {

Napi::Function Poller::Define(Napi::Env env) {
  return DefineClass(env, "Poller",
                     {InstanceMethod("start", &Poller::Start), InstanceMethod("stop", &Poller::Stop),
                      InstanceMethod("close", &Poller::Close), InstanceMethod("ref", &Poller::Ref),
                      InstanceMethod("unref", &Poller::Unref)});
}

// new Poller(fd, callback(status, events))
Poller::Poller(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Poller>(info), env_(info.Env()) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "Poller(fd: number, callback: function)").ThrowAsJavaScriptException();
    return;
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "no libuv loop for this environment").ThrowAsJavaScriptException();
    return;
  }
  handle_ = new uv_poll_t;
  int rc = uv_poll_init(loop, handle_, fd);
  if (rc != 0) {
    delete handle_;
    handle_ = nullptr;
    ThrowErrno(env, "uv_poll_init", -rc);
    return;
  }
  handle_->data = this;
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
}

Poller::~Poller() {
  // The JS object was collected without close(): detach so a late callback cannot touch us.
  if (handle_ != nullptr) {
    handle_->data = nullptr;
    uv_poll_stop(handle_);
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), OnClose);
    handle_ = nullptr;
  }
}

// start(events): 1 = readable, 2 = writable (UV_READABLE / UV_WRITABLE)
Napi::Value Poller::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (handle_ == nullptr) {
    Napi::Error::New(env, "poller is closed").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int events = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : UV_READABLE;
  int rc = uv_poll_start(handle_, events, OnPoll);
  if (rc != 0) ThrowErrno(env, "uv_poll_start", -rc);
  return env.Undefined();
}

Napi::Value Poller::Stop(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_poll_stop(handle_);
  return info.Env().Undefined();
}

Napi::Value Poller::Close(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) {
    handle_->data = nullptr;
    uv_poll_stop(handle_);
    uv_close(reinterpret_cast<uv_handle_t*>(handle_), OnClose);
    handle_ = nullptr;
  }
  callback_.Reset();
  return info.Env().Undefined();
}

// unref(): a background fd (a control socket, an idle queue) must not keep the process alive.
Napi::Value Poller::Ref(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(handle_));
  return info.Env().Undefined();
}

Napi::Value Poller::Unref(const Napi::CallbackInfo& info) {
  if (handle_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(handle_));
  return info.Env().Undefined();
}

void Poller::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Poller*>(handle->data);
  if (self == nullptr || self->callback_.IsEmpty()) return;
  Napi::Env env = self->env_;
  Napi::HandleScope scope(env);
  // MakeCallback drains microtasks after the batch, as a libuv-driven callback must.
  self->callback_.MakeCallback(env.Global(),
                               {Napi::Number::New(env, status), Napi::Number::New(env, events)});
}

void Poller::OnClose(uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); }

}  // namespace nebula
