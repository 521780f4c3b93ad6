// addon.cc - the Node-API binding of libm3ipc. It only converts values:
// arguments are checked in TypeScript (runtime/src/ipc), the work is done
// in C (endpoint_thread.c and libm3ipc). The raw surface is typed in
// runtime/src/ipc/native.ts.
//
// Async shape: one dedicated thread per bound endpoint (endpoint_thread.h
// explains why the binding forces it) hands results back through one
// ThreadSafeFunction per addon instance. Not an AsyncWorker: the libuv pool
// has 4 threads and a thread-local binding cannot move between them; a
// receive blocked for minutes must not starve fs and dns either. Measured
// cost: runtime/BENCHMARKS.md, section "TypeScript".
#include <napi.h>

#include <cstring>
#include <set>

#include "endpoint_thread.h"

namespace {

constexpr size_t kMessageSize = sizeof(message);
static_assert(kMessageSize == 48, "MINIX message layout on LP64");

class NativeEndpoint;

struct Call;

void CallJs(Napi::Env env, Napi::Function, void *, Call *call);
using Tsfn = Napi::TypedThreadSafeFunction<void, Call, CallJs>;

// One per addon instance (main thread, a worker thread, ...).
struct AddonData {
    Tsfn tsfn;
    size_t pending = 0; // async calls in flight: keep the loop alive
    bool closed = false; // the environment's cleanup hook ran
    std::set<NativeEndpoint *> live;
    Napi::FunctionReference ctor;
};

// An asynchronous call: the C call plus what must live until it settles.
struct Call {
    dvs_call c{};
    AddonData *data = nullptr;
    Napi::Promise::Deferred deferred;
    Napi::Reference<Napi::Uint8Array> raw; // message copied back, if any
    Napi::Reference<Napi::Value> keep;     // buffers in use (vcopy, pointers)
    Napi::ObjectReference self;            // the endpoint stays alive
    explicit Call(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

void
OnDone(dvs_call *c, void *arg)
{
    Call *call = static_cast<Call *>(c->user);
    // napi_closing: the environment is going away. The call is leaked on
    // purpose: its references may only be released on the JS thread.
    (void)call->data->tsfn.NonBlockingCall(call);
}

void
Unpend(Napi::Env env, AddonData *data)
{
    if (--data->pending == 0)
        data->tsfn.Unref(env);
}

void
CallJs(Napi::Env env, Napi::Function, void *, Call *call)
{
    if (env == nullptr) // the function was aborted; see OnDone
        return;
    if (call->data->closed) { // teardown: nobody waits for the result
        delete call;
        return;
    }
    if (!call->raw.IsEmpty()) {
        Napi::Uint8Array raw = call->raw.Value();
        std::memcpy(raw.Data(), &call->c.m, kMessageSize);
    }
    call->deferred.Resolve(Napi::Number::New(env, call->c.rc));
    Unpend(env, call->data);
    delete call;
}

// Arguments are validated by the TypeScript layer; these only convert.
int
IntArg(const Napi::CallbackInfo &info, size_t i)
{
    return info[i].As<Napi::Number>().Int32Value();
}

// A local buffer (Uint8Array) or a remote address (bigint).
void *
AddressArg(const Napi::Value &v)
{
    if (v.IsTypedArray()) {
        Napi::Uint8Array a = v.As<Napi::Uint8Array>();
        return a.Data();
    }
    bool lossless;
    return reinterpret_cast<void *>(
        v.As<Napi::BigInt>().Uint64Value(&lossless));
}

class NativeEndpoint : public Napi::ObjectWrap<NativeEndpoint> {
  public:
    static Napi::Function Init(Napi::Env env)
    {
        return DefineClass(
            env, "NativeEndpoint",
            {
                InstanceMethod<&NativeEndpoint::Bind>("bind"),
                InstanceMethod<&NativeEndpoint::Wait4Bind>("wait4bind"),
                InstanceMethod<&NativeEndpoint::Call>("call"),
                InstanceMethod<&NativeEndpoint::CallSync>("callSync"),
                InstanceMethod<&NativeEndpoint::CallPool>("callPool"),
                InstanceMethod<&NativeEndpoint::Vcopy>("vcopy"),
                InstanceMethod<&NativeEndpoint::VcopySync>("vcopySync"),
                InstanceMethod<&NativeEndpoint::Unbind>("unbind"),
                InstanceMethod<&NativeEndpoint::Close>("close"),
            });
    }

    explicit NativeEndpoint(const Napi::CallbackInfo &info)
        : Napi::ObjectWrap<NativeEndpoint>(info)
    {
        data_ = info.Env().GetInstanceData<AddonData>();
        int rc = dvs_ept_start(ept_, OnDone, nullptr);
        if (rc != 0) {
            delete ept_;
            ept_ = nullptr;
            Napi::Error::New(info.Env(), "cannot start the endpoint thread: " +
                                             std::string(std::strerror(rc)))
                .ThrowAsJavaScriptException();
            return;
        }
        started_ = true;
        data_->live.insert(this);
    }

    ~NativeEndpoint() override { Shutdown(); }

    // Unbinds (if bound) and stops the thread; for the env cleanup hook.
    void Shutdown()
    {
        if (!started_)
            return;
        started_ = false;
        data_->live.erase(this);
        if (ept_->ep >= 0) {
            mnx_unbind(ept_->dcid, ept_->ep); // wakes a blocked call
            dvs_ept_stop(ept_);
            delete ept_;
        } else {
            // Never bound, maybe still waiting in wait4bind: nothing can
            // wake it, so the thread is left to finish on its own with its
            // (leaked) state.
            dvs_ept_orphan(ept_);
        }
        ept_ = nullptr;
    }

  private:
    // bind(dc, ep) -> Promise<rc>
    Napi::Value Bind(const Napi::CallbackInfo &info)
    {
        return Submit(info, DVS_OP_BIND, IntArg(info, 0), IntArg(info, 1), -1,
                      Napi::Value(), Napi::Value());
    }

    // wait4bind(dc, timeoutMs) -> Promise<rc>
    Napi::Value Wait4Bind(const Napi::CallbackInfo &info)
    {
        return Submit(info, DVS_OP_WAIT4BIND, IntArg(info, 0), 0,
                      info[1].As<Napi::Number>().Int64Value(), Napi::Value(),
                      Napi::Value());
    }

    // call(op, a, timeoutMs, raw: Uint8Array(48) | null, keep) -> Promise<rc>
    Napi::Value Call(const Napi::CallbackInfo &info)
    {
        return Submit(info, IntArg(info, 0), IntArg(info, 1), 0,
                      info[2].As<Napi::Number>().Int64Value(), info[3],
                      info[4]);
    }

    // callSync(op, a, timeoutMs, raw | null) -> rc
    Napi::Value CallSync(const Napi::CallbackInfo &info)
    {
        dvs_call c{};
        c.op = IntArg(info, 0);
        c.a = IntArg(info, 1);
        c.to_ms = info[2].As<Napi::Number>().Int64Value();
        Napi::Uint8Array raw;
        if (info[3].IsTypedArray()) {
            raw = info[3].As<Napi::Uint8Array>();
            std::memcpy(&c.m, raw.Data(), kMessageSize);
        }
        if (!started_) // unbound: the TypeScript layer says so first
            return Napi::Number::New(info.Env(), EMOLNOTBIND);
        int rc = dvs_ept_run_sync(ept_, &c);
        if (!raw.IsEmpty())
            std::memcpy(raw.Data(), &c.m, kMessageSize);
        return Napi::Number::New(info.Env(), rc);
    }

    // callPool(op, a, timeoutMs, raw) -> Promise<rc>: the same call on a
    // libuv pool thread (AsyncWorker) instead of the endpoint's thread.
    // Only for an idle endpoint holding the process binding (a pool thread
    // has no thread binding of its own), else EMOLBUSY. It exists for the
    // benchmark that justifies the endpoint thread (runtime/BENCHMARKS.md).
    Napi::Value CallPool(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        auto deferred = Napi::Promise::Deferred::New(env);
        if (!started_ || !dvs_ept_claim(ept_)) {
            deferred.Resolve(Napi::Number::New(env, EMOLBUSY));
            return deferred.Promise();
        }
        auto *w = new PoolCall(env, deferred, ept_);
        w->c.op = IntArg(info, 0);
        w->c.a = IntArg(info, 1);
        w->c.to_ms = info[2].As<Napi::Number>().Int64Value();
        Napi::Uint8Array raw = info[3].As<Napi::Uint8Array>();
        std::memcpy(&w->c.m, raw.Data(), kMessageSize);
        w->raw = Napi::Persistent(raw);
        w->Queue();
        return deferred.Promise();
    }

    class PoolCall : public Napi::AsyncWorker {
      public:
        PoolCall(Napi::Env env, Napi::Promise::Deferred d, dvs_ept *e)
            : Napi::AsyncWorker(env), deferred(d), ept(e)
        {
        }
        void Execute() override
        {
            c.rc = dvs_ept_execute(ept, &c);
            dvs_ept_release(ept);
        }
        void OnOK() override
        {
            std::memcpy(raw.Value().Data(), &c.m, kMessageSize);
            deferred.Resolve(Napi::Number::New(Env(), c.rc));
        }
        dvs_call c{};
        Napi::Promise::Deferred deferred;
        Napi::Reference<Napi::Uint8Array> raw;
        dvs_ept *ept;
    };

    // vcopy(srcEp, src, dstEp, dst, bytes) -> Promise<rc>; src/dst are
    // Uint8Arrays (local) or bigint addresses (the peer's).
    Napi::Value Vcopy(const Napi::CallbackInfo &info)
    {
        Napi::Env env = info.Env();
        struct Call *call = NewCall(env, DVS_OP_VCOPY, IntArg(info, 0),
                                    IntArg(info, 2), -1);
        call->c.src = AddressArg(info[1]);
        call->c.dst = AddressArg(info[3]);
        call->c.bytes = IntArg(info, 4);
        Napi::Array keep = Napi::Array::New(env, 2);
        keep.Set(0u, info[1]);
        keep.Set(1u, info[3]);
        call->keep = Napi::Persistent(Napi::Value(keep));
        return Enqueue(env, call);
    }

    Napi::Value VcopySync(const Napi::CallbackInfo &info)
    {
        dvs_call c{};
        c.op = DVS_OP_VCOPY;
        c.a = IntArg(info, 0);
        c.src = AddressArg(info[1]);
        c.b = IntArg(info, 2);
        c.dst = AddressArg(info[3]);
        c.bytes = IntArg(info, 4);
        if (!started_)
            return Napi::Number::New(info.Env(), EMOLNOTBIND);
        return Napi::Number::New(info.Env(), dvs_ept_run_sync(ept_, &c));
    }

    // unbind() -> rc. Runs on the JS thread: mnx_unbind needs no binding
    // and wakes a call of this endpoint that is blocked, so unbind never
    // waits behind a receive.
    Napi::Value Unbind(const Napi::CallbackInfo &info)
    {
        int rc = started_ && ept_->ep >= 0 ? mnx_unbind(ept_->dcid, ept_->ep)
                                           : EMOLNOTBIND;
        return Napi::Number::New(info.Env(), rc);
    }

    // close(): after unbind, stop the thread (the queued calls finish with
    // EMOLNOTBIND first).
    Napi::Value Close(const Napi::CallbackInfo &info)
    {
        Shutdown();
        return info.Env().Undefined();
    }

    struct Call *NewCall(Napi::Env env, int op, int a, int b, long to_ms)
    {
        struct Call *call = new struct Call(env);
        call->data = data_;
        call->c.op = op;
        call->c.a = a;
        call->c.b = b;
        call->c.to_ms = to_ms;
        call->c.user = call;
        call->self = Napi::Persistent(Value());
        return call;
    }

    Napi::Value Enqueue(Napi::Env env, struct Call *call)
    {
        Napi::Promise promise = call->deferred.Promise();
        if (!started_) {
            call->deferred.Resolve(Napi::Number::New(env, EMOLNOTBIND));
            delete call;
            return promise;
        }
        if (data_->pending++ == 0)
            data_->tsfn.Ref(env);
        dvs_ept_submit(ept_, &call->c);
        return promise;
    }

    Napi::Value Submit(const Napi::CallbackInfo &info, int op, int a, int b,
                       long to_ms, Napi::Value raw, Napi::Value keep)
    {
        Napi::Env env = info.Env();
        struct Call *call = NewCall(env, op, a, b, to_ms);
        if (!raw.IsEmpty() && raw.IsTypedArray()) {
            Napi::Uint8Array r = raw.As<Napi::Uint8Array>();
            std::memcpy(&call->c.m, r.Data(), kMessageSize);
            call->raw = Napi::Persistent(r);
        }
        if (!keep.IsEmpty() && !keep.IsUndefined())
            call->keep = Napi::Persistent(keep);
        return Enqueue(env, call);
    }

    AddonData *data_ = nullptr;
    dvs_ept *ept_ = new dvs_ept();
    bool started_ = false;
};

// addressOf(buf) -> bigint: where a buffer lives, to hand to a peer that
// vcopies into or out of it.
Napi::Value
AddressOf(const Napi::CallbackInfo &info)
{
    Napi::Uint8Array a = info[0].As<Napi::Uint8Array>();
    return Napi::BigInt::New(info.Env(),
                             static_cast<uint64_t>(
                                 reinterpret_cast<uintptr_t>(a.Data())));
}

// errname(code) -> "EMOL..." | null; strerror(code) -> sentence.
Napi::Value
ErrName(const Napi::CallbackInfo &info)
{
    const char *n = mnx_errname(IntArg(info, 0));
    if (!n)
        return info.Env().Null();
    return Napi::String::New(info.Env(), n);
}

Napi::Value
StrError(const Napi::CallbackInfo &info)
{
    return Napi::String::New(info.Env(), mnx_strerror(IntArg(info, 0)));
}

void
KeepInstanceData(Napi::Env, AddonData *)
{
}

Napi::Object
Init(Napi::Env env, Napi::Object exports)
{
    AddonData *data = new AddonData();
    data->tsfn = Tsfn::New(env, "dvs-ipc", 0, 1);
    data->tsfn.Unref(env);
    // Never freed (a few bytes per environment): a result may still be
    // dispatched while the environment is torn down, after the cleanup
    // hook, and must find `closed` set.
    env.SetInstanceData<AddonData, KeepInstanceData>(data);
    // Endpoints still bound when the environment ends (process exit, a
    // worker thread terminating) are unbound, and their threads joined,
    // before anything they use is freed.
    env.AddCleanupHook([data]() {
        std::set<NativeEndpoint *> live = data->live;
        for (NativeEndpoint *e : live)
            e->Shutdown();
        data->closed = true;
        data->tsfn.Release();
    });
    exports.Set("NativeEndpoint", NativeEndpoint::Init(env));
    exports.Set("addressOf", Napi::Function::New<AddressOf>(env, "addressOf"));
    exports.Set("errname", Napi::Function::New<ErrName>(env, "errname"));
    exports.Set("strerror", Napi::Function::New<StrError>(env, "strerror"));
    exports.Set("messageSize", Napi::Number::New(env, kMessageSize));
    return exports;
}

} // namespace

NODE_API_MODULE(dvs_ipc, Init)
