// addon.cc - the Node-API binding of libm3ipc. It only converts values:
// arguments are checked in TypeScript (runtime/src/ipc), the work is done
// in C (endpoint_thread.c and libm3ipc). The raw surface is typed in
// runtime/src/ipc/native.ts.
//
// Async shape, two paths (runtime/BENCHMARKS.md, section "TypeScript", has
// the measurements that chose them):
//  - io_uring (default where the kernel has IORING_OP_FUTEX_WAIT, Linux >=
//    6.7): the JS thread runs the call itself up to the point where it
//    would block (libm3ipc's split calls: the request is then parked in the
//    shared table), submits a FUTEX_WAIT on its slot's doorbell to one
//    io_uring per addon instance, and returns to the event loop; libuv
//    watches the ring's fd (uv_poll) and resumes the call when the peer's
//    ordinary futex wake completes the wait. Timeouts: one uv timer per
//    endpoint; the call's own deadline decides. Two context switches per
//    round trip, like C.
//  - endpoint thread (fallback: no io_uring, no FUTEX_WAIT, forbidden by
//    seccomp/io_uring_disabled, or DVS_IPC_WAIT=thread): one dedicated
//    thread per bound endpoint (endpoint_thread.h) runs the blocking call
//    and hands the result back through one ThreadSafeFunction per addon
//    instance. Not an AsyncWorker: the libuv pool has 4 threads and a
//    thread-local binding cannot move between them; a receive blocked for
//    minutes must not starve fs and dns either.
// The endpoint thread exists on both paths: it binds (mnx_tbind is
// per-thread and the daemon watches that thread) and runs wait4bind and
// vcopy. `waitMode` on the exports says which path is in use.
#include <napi.h>
#include <uv.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <set>
#include <string>
#include <unordered_map>

#include "endpoint_thread.h"
#include "uring_wait.h"

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
    // The io_uring path; ring == nullptr: the endpoint-thread path.
    napi_env env = nullptr;
    dvs_uring *ring = nullptr;
    uv_poll_t *poll = nullptr;
    Napi::AsyncContext *actx = nullptr; // callback scope of ring callbacks
    std::unordered_map<uint64_t, struct Call *> waits; // by user_data
    uint64_t nextWait = 1;
    std::string waitMode = "thread", waitModeReason;
};

// An asynchronous call: the C call plus what must live until it settles.
struct Call {
    dvs_call c{};
    AddonData *data = nullptr;
    Napi::Promise::Deferred deferred;
    Napi::Reference<Napi::Uint8Array> raw; // message copied back, if any
    Napi::Reference<Napi::Value> keep;     // buffers in use (vcopy, pointers)
    Napi::ObjectReference self;            // the endpoint stays alive
    NativeEndpoint *owner = nullptr;       // io_uring path: its endpoint
    uint64_t waitId = 0;                   // its FUTEX_WAIT in the ring
    bool threaded = false;                 // runs on the endpoint thread
    explicit Call(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

void ThreadCallDone(Napi::Env env, struct Call *call);

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
    if (call->owner) { // io_uring path: the endpoint's queue goes on
        ThreadCallDone(env, call);
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

    ~NativeEndpoint() override { Shutdown(false); }

    // Unbinds (if bound) and stops the thread; for the env cleanup hook
    // (settle false: nobody is left to see results) and close().
    void Shutdown(bool settle)
    {
        if (!started_)
            return;
        started_ = false;
        data_->live.erase(this);
        if (ept_->ep >= 0) {
            mnx_unbind(ept_->dcid, ept_->ep); // wakes a blocked call
            if (active_ && !active_->threaded) {
                // The unbind above (or an earlier one) ended its wait.
                struct Call *call = active_;
                active_ = nullptr;
                DropWait(call);
                int rc = dvs_ept_split_check(&call->c);
                Finish(call, rc == DVS_PENDING ? EMOLNOTBIND : rc, settle);
            }
            // A call still on the thread completes through the TSFN.
            active_ = nullptr;
            dvs_ept_stop(ept_);
            delete ept_;
        } else {
            // Never bound, maybe still waiting in wait4bind: nothing can
            // wake it, so the thread is left to finish on its own with its
            // (leaked) state.
            dvs_ept_orphan(ept_);
        }
        ept_ = nullptr;
        while (!queue_.empty()) {
            struct Call *call = queue_.front();
            queue_.pop_front();
            Finish(call, EMOLNOTBIND, settle);
        }
        if (timer_) {
            uv_close(reinterpret_cast<uv_handle_t *>(timer_), [](uv_handle_t *h) {
                delete reinterpret_cast<uv_timer_t *>(h);
            });
            timer_ = nullptr;
        }
    }

    // ---- the io_uring path (see the top of this file) ----

    // A result of a call that ran on the endpoint thread (ThreadCallDone).
    void ThreadDone(Napi::Env env, struct Call *call)
    {
        bool wasActive = active_ == call;
        if (wasActive)
            active_ = nullptr;
        Settle(env, call, call->c.rc);
        if (wasActive)
            Pump(env);
    }

    // A completion of the call's FUTEX_WAIT (woken, or the doorbell had
    // moved on already): look again.
    void OnWake(Napi::Env env, struct Call *call)
    {
        call->waitId = 0;
        dvs_ept_split_disarm(&call->c);
        if (call != active_)
            return; // cannot happen: a finished call's wait is cancelled
        Resume(env);
    }

    // The endpoint's timer: the active call's deadline (or a retry).
    void OnTimer(Napi::Env env)
    {
        struct Call *call = active_;
        if (!call || call->threaded)
            return;
        int rc = dvs_ept_split_check(&call->c);
        if (rc == DVS_PENDING) {
            if (call->waitId)
                ArmTimer(call); // a tick a little before the deadline
            else
                Await(env); // the retry of a wait the kernel refused
            if (!active_)
                Pump(env);
            return;
        }
        // Timed out (the request withdrawn), or done with the wake still
        // on its way: the wait goes, the result stands.
        DropWait(call);
        active_ = nullptr;
        Settle(env, call, rc);
        Pump(env);
    }

  private:
    // Resume decides what the parked active call does next.
    void Resume(Napi::Env env)
    {
        struct Call *call = active_;
        int rc = dvs_ept_split_check(&call->c);
        if (rc == DVS_PENDING) { // a spurious wake: wait again
            Await(env);
            if (!active_) // it ended while re-arming
                Pump(env);
            return;
        }
        active_ = nullptr;
        StopTimer();
        Settle(env, call, rc);
        Pump(env);
    }

    // Pump starts the queued calls, in order, while none is active.
    void Pump(Napi::Env env)
    {
        while (!active_ && !queue_.empty()) {
            struct Call *call = queue_.front();
            queue_.pop_front();
            if (!started_) {
                Settle(env, call, EMOLNOTBIND);
                continue;
            }
            if (!dvs_ept_split_ok(ept_, call->c.op)) {
                // bind, wait4bind, vcopy: on the endpoint thread.
                call->threaded = true;
                active_ = call;
                dvs_ept_submit(ept_, &call->c);
                return;
            }
            int rc = dvs_ept_split_start(ept_, &call->c);
            if (rc != DVS_PENDING) {
                Settle(env, call, rc);
                continue;
            }
            active_ = call;
            Await(env);
        }
    }

    // Await makes the parked active call wait for its doorbell in the ring.
    void Await(Napi::Env env)
    {
        struct Call *call = active_;
        for (;;) {
            std::atomic<uint32_t> *addr;
            uint32_t val;
            if (dvs_ept_split_arm(&call->c, &addr, &val)) {
                uint64_t id = data_->nextWait++;
                if (dvs_uring_futex_wait(data_->ring, addr, val, id) == 0) {
                    data_->waits[id] = call;
                    call->waitId = id;
                    ArmTimer(call);
                } else {
                    // The kernel refused the wait (memory): look again
                    // in 1 ms rather than fail the call.
                    dvs_ept_split_disarm(&call->c);
                    StartTimer(1);
                }
                return;
            }
            int rc = dvs_ept_split_check(&call->c);
            if (rc != DVS_PENDING) {
                active_ = nullptr;
                StopTimer();
                Settle(env, call, rc);
                return; // the caller (Pump, Resume) goes on
            }
        }
    }

    void ArmTimer(struct Call *call)
    {
        long ms = dvs_ept_split_remaining_ms(&call->c);
        if (ms >= 0)
            StartTimer(static_cast<uint64_t>(ms));
    }

    static void TimerCb(uv_timer_t *h);

    void StartTimer(uint64_t ms)
    {
        if (!timer_) {
            uv_loop_t *loop;
            napi_get_uv_event_loop(data_->env, &loop);
            timer_ = new uv_timer_t;
            uv_timer_init(loop, timer_);
            timer_->data = this;
            // Pending calls keep the loop alive through the TSFN's ref.
            uv_unref(reinterpret_cast<uv_handle_t *>(timer_));
        }
        uv_timer_start(timer_, TimerCb, ms, 0);
    }

    void StopTimer()
    {
        if (timer_)
            uv_timer_stop(timer_);
    }

    // DropWait withdraws the call's FUTEX_WAIT from the ring, if any.
    void DropWait(struct Call *call)
    {
        if (!call->waitId)
            return;
        data_->waits.erase(call->waitId);
        dvs_uring_cancel(data_->ring, call->waitId);
        call->waitId = 0;
        dvs_ept_split_disarm(&call->c);
    }

    void Settle(Napi::Env env, struct Call *call, int rc)
    {
        call->c.rc = rc;
        if (!call->raw.IsEmpty()) {
            Napi::Uint8Array raw = call->raw.Value();
            std::memcpy(raw.Data(), &call->c.m, kMessageSize);
        }
        call->deferred.Resolve(Napi::Number::New(env, rc));
        Unpend(env, data_);
        delete call;
    }

    void Finish(struct Call *call, int rc, bool settle)
    {
        if (settle)
            Settle(Env(), call, rc);
        else
            delete call; // teardown: nobody waits for the result
    }

    // DrainSync runs the endpoint's pending asynchronous calls to their end
    // on this thread, in order, before a synchronous call (which, like
    // before, waits behind them and blocks the loop meanwhile).
    void DrainSync(Napi::Env env)
    {
        if (active_) {
            struct Call *call = active_;
            active_ = nullptr;
            if (call->threaded) {
                // Its promise settles through the TSFN later (ThreadDone
                // sees it is no longer active).
                dvs_ept_wait_done(ept_, &call->c);
            } else {
                DropWait(call);
                StopTimer();
                Settle(env, call, dvs_ept_split_wait(&call->c));
            }
        }
        while (!queue_.empty()) {
            struct Call *call = queue_.front();
            queue_.pop_front();
            Settle(env, call, RunSync(&call->c));
        }
    }

    // RunSync runs one call to its end on this thread.
    int RunSync(dvs_call *c)
    {
        if (data_->ring && dvs_ept_split_ok(ept_, c->op)) {
            int rc = dvs_ept_split_start(ept_, c);
            return rc == DVS_PENDING ? dvs_ept_split_wait(c) : rc;
        }
        return dvs_ept_run_sync(ept_, c);
    }

  public:

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
        if (data_->ring)
            DrainSync(info.Env());
        int rc = RunSync(&c);
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
        if (data_->ring)
            DrainSync(info.Env());
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
        Shutdown(true);
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
        if (data_->ring) {
            call->owner = this;
            queue_.push_back(call);
            Pump(env);
            return promise;
        }
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
    // io_uring path: calls wait here in order; one is active at a time.
    std::deque<struct Call *> queue_;
    struct Call *active_ = nullptr;
    uv_timer_t *timer_ = nullptr; // the active call's deadline
};

void
NativeEndpoint::TimerCb(uv_timer_t *h)
{
    NativeEndpoint *self = static_cast<NativeEndpoint *>(h->data);
    AddonData *d = self->data_;
    if (d->closed)
        return;
    Napi::Env env(d->env);
    Napi::HandleScope hs(env);
    Napi::CallbackScope cs(env, *d->actx); // microtasks run when it closes
    self->OnTimer(env);
}

void
ThreadCallDone(Napi::Env env, struct Call *call)
{
    call->owner->ThreadDone(env, call);
}

void
OnCompletion(uint64_t id, int32_t, void *arg)
{
    AddonData *d = static_cast<AddonData *>(arg);
    auto it = d->waits.find(id);
    if (it == d->waits.end())
        return; // a wait withdrawn meanwhile
    struct Call *call = it->second;
    d->waits.erase(it);
    call->owner->OnWake(Napi::Env(d->env), call);
}

void
OnRing(uv_poll_t *h, int status, int)
{
    AddonData *d = static_cast<AddonData *>(h->data);
    if (d->closed || status < 0)
        return;
    Napi::Env env(d->env);
    Napi::HandleScope hs(env);
    Napi::CallbackScope cs(env, *d->actx);
    dvs_uring_reap(d->ring, OnCompletion, d);
}

// SetUpRing chooses the wait path of this addon instance.
void
SetUpRing(Napi::Env env, AddonData *data)
{
    data->env = env;
    const char *force = std::getenv("DVS_IPC_WAIT");
    if (force && std::strcmp(force, "thread") == 0) {
        data->waitModeReason = "DVS_IPC_WAIT=thread";
        return;
    }
    const char *why = nullptr;
    int rc = dvs_uring_open(&data->ring, &why);
    if (rc < 0) {
        data->ring = nullptr;
        data->waitModeReason = std::string(why) + ": " + std::strerror(-rc);
        return;
    }
    uv_loop_t *loop;
    data->poll = new uv_poll_t;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok ||
        uv_poll_init(loop, data->poll, dvs_uring_fd(data->ring)) != 0) {
        delete data->poll;
        data->poll = nullptr;
        dvs_uring_close(data->ring);
        data->ring = nullptr;
        data->waitModeReason = "libuv cannot watch the io_uring fd";
        return;
    }
    data->poll->data = data;
    uv_poll_start(data->poll, UV_READABLE, OnRing);
    uv_unref(reinterpret_cast<uv_handle_t *>(data->poll));
    data->actx = new Napi::AsyncContext(env, "dvs-ipc");
    data->waitMode = "io_uring";
}

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
    SetUpRing(env, data);
    env.AddCleanupHook([data]() {
        std::set<NativeEndpoint *> live = data->live;
        for (NativeEndpoint *e : live)
            e->Shutdown(false);
        data->closed = true;
        data->tsfn.Release();
        if (data->poll) {
            uv_poll_stop(data->poll);
            // The ring's fd stays open until libuv has let go of it.
            data->poll->data = data->ring;
            uv_close(reinterpret_cast<uv_handle_t *>(data->poll), [](uv_handle_t *h) {
                dvs_uring_close(static_cast<dvs_uring *>(h->data));
                delete reinterpret_cast<uv_poll_t *>(h);
            });
            data->poll = nullptr;
        }
    });
    exports.Set("NativeEndpoint", NativeEndpoint::Init(env));
    exports.Set("addressOf", Napi::Function::New<AddressOf>(env, "addressOf"));
    exports.Set("errname", Napi::Function::New<ErrName>(env, "errname"));
    exports.Set("strerror", Napi::Function::New<StrError>(env, "strerror"));
    exports.Set("messageSize", Napi::Number::New(env, kMessageSize));
    exports.Set("waitMode", Napi::String::New(env, data->waitMode));
    exports.Set("waitModeReason", Napi::String::New(env, data->waitModeReason));
    return exports;
}

} // namespace

NODE_API_MODULE(dvs_ipc, Init)
