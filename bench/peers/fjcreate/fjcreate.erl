%% fork-join creation (Savina): create N processes and send each one
%% message; each does a small computation, reports and exits.
%% Usage: erl -noshell -pa DIR -run fjcreate main N
-module(fjcreate).
-export([main/1]).

main([NS]) ->
    N = list_to_integer(NS),
    Main = self(),
    create(N, Main),
    Done = collect(N, 0),
    io:format("forkjoin-create N=~b done=~b~n", [N, Done]),
    halt().

create(0, _) -> ok;
create(K, Main) ->
    Pid = spawn(fun() -> worker(Main) end),
    Pid ! msg,
    create(K - 1, Main).

collect(0, Done) -> Done;
collect(K, Done) -> receive done -> collect(K - 1, Done + 1) end.

%% Savina's performComputation(37.2): sin(theta)^2, checked so it is not dead.
compute(Theta) ->
    S = math:sin(Theta),
    case S * S =< 0 of
        true -> exit(unrealistic);
        false -> ok
    end.

worker(Main) ->
    receive msg -> compute(37.2), Main ! done end.
