%% fork-join throughput (Savina): A worker processes; the main process sends
%% N messages to each (round-robin); a worker does a small computation per
%% message and, after N, reports to the main process.
%% Usage: erl -noshell -pa DIR -run fjthroughput main A N
-module(fjthroughput).
-export([main/1]).

main([AS, NS]) ->
    A = list_to_integer(AS),
    N = list_to_integer(NS),
    Main = self(),
    Pids = [spawn(fun() ->
                process_flag(message_queue_data, off_heap),
                worker(Main, N, 0)
            end) || _ <- lists:seq(1, A)],
    send(Pids, N),
    Msgs = collect(A, 0),
    io:format("forkjoin-throughput A=~b N=~b msgs=~b~n", [A, N, Msgs]),
    halt().

send(_, 0) -> ok;
send(Pids, K) -> [P ! msg || P <- Pids], send(Pids, K - 1).

collect(0, Msgs) -> Msgs;
collect(K, Msgs) -> receive {done, M} -> collect(K - 1, Msgs + M) end.

%% Savina's performComputation(37.2): sin(theta)^2, checked so it is not dead.
compute(Theta) ->
    S = math:sin(Theta),
    case S * S =< 0 of
        true -> exit(unrealistic);
        false -> ok
    end.

worker(Main, N, N) -> Main ! {done, N};
worker(Main, N, K) ->
    receive msg -> compute(37.2), worker(Main, N, K + 1) end.
