%% counting (Savina): one counter process receives N increment messages,
%% then a request for its count, and answers it.
%% Usage: erl -noshell -pa DIR -run counting main N
-module(counting).
-export([main/1]).

main([NS]) ->
    N = list_to_integer(NS),
    Counter = spawn(fun() ->
        %% Up to N messages can queue while main is still sending; an
        %% off-heap queue keeps the counter's GCs from copying it (as
        %% ../shared/peers/spawn/spawn.erl does for its collector).
        process_flag(message_queue_data, off_heap),
        counter(0)
    end),
    send(Counter, N),
    Counter ! {get, self()},
    receive
        {count, Count} -> io:format("counting N=~b count=~b~n", [N, Count])
    end,
    halt().

send(_, 0) -> ok;
send(Counter, K) -> Counter ! inc, send(Counter, K - 1).

counter(Count) ->
    receive
        inc -> counter(Count + 1);
        {get, From} -> From ! {count, Count}
    end.
