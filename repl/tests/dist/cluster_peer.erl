%% The Erlang side of repl/tests/cluster.rs (issue 27, LANGUAGE.md §12,
%% second half): a Weft node as a citizen of the cluster.
%%
%% - start/0: an Erlang node a Weft script calls into: a gen_server
%%   registered locally as `erl_kv`, and a process in the pg group
%%   `erl_group` (the node runs with `-kernel start_pg true`). Prints
%%   "ready" once both are in place.
%% - into_weft/1: calls into a Weft node (cluster_node.weft) with rpc,
%%   erpc, gen_server, pg and a plain send, printing one line per check
%%   (io:format "~p~n"), then halts. Every wait is bounded.
-module(cluster_peer).
-behaviour(gen_server).
-export([start/0, into_weft/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

%% How long any single call into the Weft node may take (ms).
-define(TIMEOUT, 5000).

start() ->
    {ok, _} = gen_server:start({local, erl_kv}, ?MODULE, #{}, []),
    Parent = self(),
    spawn(fun() ->
        ok = pg:join(erl_group, self()),
        Parent ! joined,
        receive stop -> ok end
    end),
    receive joined -> io:format("ready~n")
    after ?TIMEOUT -> io:format("pg join timed out~n")
    end.

%% The gen_server Weft calls: `ping`, `whoami` (its own pid, for a call by
%% pid), `{get, K}` (nil when absent), cast `{put, K, V}`, and `hang`,
%% which it never answers (the caller's timeout).
init(State) -> {ok, State}.

handle_call(ping, _From, State) -> {reply, pong, State};
handle_call(whoami, _From, State) -> {reply, self(), State};
handle_call({get, Key}, _From, State) -> {reply, maps:get(Key, State, nil), State};
handle_call(hang, _From, State) -> {noreply, State}.

handle_cast({put, Key, Value}, State) -> {noreply, State#{Key => Value}}.

handle_info(_Message, State) -> {noreply, State}.

%% Calls into the Weft node W; one line per check, then halt.
into_weft(W) ->
    try checks(W)
    catch Class:Reason:Stack -> p({crashed, Class, Reason, Stack})
    end,
    erlang:halt().

p(Term) -> io:format("~p~n", [Term]).

checks(W) ->
    p(net_adm:ping(W)),
    %% rpc and erpc: `main` (the script's own functions), a standard
    %% module, an imported module (its `as` name).
    p(rpc:call(W, main, add, [2, 3], ?TIMEOUT)),
    p(rpc:call(W, string, upper, [<<"abc">>], ?TIMEOUT)),
    p(rpc:call(W, helper, twice, [21], ?TIMEOUT)),
    %% A Weft runtime error (x / 0) is erpc's error exception, its reason
    %% {Kind, Message}; rpc turns it into {badrpc, {'EXIT', {Reason, Stack}}}.
    p(try erpc:call(W, main, fail, [1], ?TIMEOUT) of
          Value -> {returned, Value}
      catch
          error:{exception, {Kind, Message}, _Stack} -> {Kind, is_binary(Message)};
          Class:Reason -> {Class, Reason}
      end),
    p(case rpc:call(W, main, fail, [1], ?TIMEOUT) of
          {badrpc, {'EXIT', {{badarith, _}, _}}} -> badrpc_badarith;
          Other -> Other
      end),
    %% An unknown function: the undef Erlang itself would raise.
    p(rpc:call(W, main, nope, [], ?TIMEOUT)),
    %% A builtin called with another arity is not that function either.
    p(rpc:call(W, string, upper, [], ?TIMEOUT)),
    %% gen_server to a Weft `server` registered as kv; the call after the
    %% cast is ordered behind it.
    Kv = {kv, W},
    p(gen_server:call(Kv, {put, a, 1}, ?TIMEOUT)),
    p(gen_server:call(Kv, {get, a}, ?TIMEOUT)),
    ok = gen_server:cast(Kv, {put, b, 2}),
    p(gen_server:call(Kv, {get, b}, ?TIMEOUT)),
    p(case catch gen_server:call({nosuch, W}, x, 1000) of
          {'EXIT', {noproc, {gen_server, call, [{nosuch, W}, x, 1000]}}} -> noproc;
          Other2 -> Other2
      end),
    %% A reply after the caller's timeout goes to the caller's alias, which
    %% gen_server:call has dropped: it never reaches the mailbox. The Weft
    %% side sends `late_sent` after it (same sender, so in order).
    p(case catch gen_server:call(Kv, {late, 200}, 100) of
          {'EXIT', {timeout, _}} -> timeout;
          Other3 -> Other3
      end),
    p(receive late_sent -> process_info(self(), messages)
      after ?TIMEOUT -> no_late_sent
      end),
    %% pg: the Weft main process joined `workers`; the Weft node starts the
    %% exchange when the connection comes up.
    p(pg_member(W, 100)),
    %% A Weft member that ends leaves its groups on every node.
    p(pg_member_of(dying, W, 100)),
    {cluster_main, W} ! kill_member,
    p(pg_gone(dying, 100)),
    p(is_pid(whereis(pg))),
    %% Erlang's pg restarted (killed; its supervisor starts a new one): the
    %% Weft node sees its scope end and asks the new one, which then lists
    %% the Weft member again.
    Old = whereis(pg),
    %% (The supervisor's report of the kill is not this test's output.)
    logger:set_primary_config(level, emergency),
    exit(Old, kill),
    p(pg_restarted(Old, 100)),
    p(pg_member(W, 100)),
    %% A plain send to the Weft main process, registered as cluster_main.
    {cluster_main, W} ! {stop, self()},
    p(receive stopped -> stopped after ?TIMEOUT -> timeout_stopped end).

pg_member_of(Group, W, Tries) ->
    case pg:get_members(Group) of
        [P] when node(P) =:= W -> {Group, member};
        Members when Tries =< 0 -> {pg_members, Members};
        _ -> receive after 50 -> pg_member_of(Group, W, Tries - 1) end
    end.

pg_restarted(Old, Tries) ->
    case whereis(pg) of
        New when is_pid(New), New =/= Old -> restarted;
        _ when Tries =< 0 -> not_restarted;
        _ -> receive after 50 -> pg_restarted(Old, Tries - 1) end
    end.

pg_gone(Group, Tries) ->
    case pg:get_members(Group) of
        [] -> {Group, gone};
        Members when Tries =< 0 -> {pg_members, Members};
        _ -> receive after 50 -> pg_gone(Group, Tries - 1) end
    end.

%% Polls pg:get_members(workers) (at most Tries x 50 ms) until it is one
%% pid of node W.
pg_member(W, Tries) ->
    case pg:get_members(workers) of
        [P] when node(P) =:= W -> pg_member;
        Members when Tries =< 0 -> {pg_members, Members};
        _ -> receive after 50 -> pg_member(W, Tries - 1) end
    end.
