%% The Erlang side of bench/dist/gen_call.sh: a gen_server registered as
%% kv that answers the call ping with pong (as kv_server.weft does in
%% Weft), and the caller that times sequential gen_server:call round trips
%% to {kv, Node}.
-module(kv_bench).
-behaviour(gen_server).
-export([server/0, caller/1]).
-export([init/1, handle_call/3, handle_cast/2]).

%% Starts the kv server (not linked: it outlives the -eval) and says ready.
server() ->
    {ok, _} = gen_server:start({local, kv}, ?MODULE, [], []),
    io:format("ready~n").

init([]) -> {ok, nil}.
handle_call(ping, _From, State) -> {reply, pong, State}.
handle_cast(_, State) -> {noreply, State}.

%% caller([N, Warm, Runs, Label1, Node1, Label2, ...]) (from -run, so all
%% strings): for each of Runs rounds, for each node in turn, Warm untimed
%% calls then N timed ones; prints "Label Run Microseconds" per timed run.
%% Any call that fails or answers anything but pong halts with status 1.
caller([N, Warm, Runs | Nodes]) ->
    try
        Targets = pairs(Nodes),
        [connect(Node) || {_, Node} <- Targets],
        [begin
             calls(Node, list_to_integer(Warm)),
             Micros = timed(Node, list_to_integer(N)),
             io:format("~s ~b ~b~n", [Label, Run, Micros])
         end || Run <- lists:seq(1, list_to_integer(Runs)), {Label, Node} <- Targets],
        erlang:halt(0)
    catch Class:Reason:Stack ->
        io:format(standard_error, "caller failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
        erlang:halt(1)
    end.

pairs([]) -> [];
pairs([Label, Node | Rest]) -> [{Label, list_to_atom(Node)} | pairs(Rest)].

connect(Node) ->
    case net_kernel:connect_node(Node) of
        true -> ok;
        Other -> error({cannot_connect, Node, Other})
    end.

timed(Node, N) ->
    Start = erlang:monotonic_time(microsecond),
    calls(Node, N),
    erlang:monotonic_time(microsecond) - Start.

calls(_, 0) -> ok;
calls(Node, N) ->
    pong = gen_server:call({kv, Node}, ping),
    calls(Node, N - 1).
