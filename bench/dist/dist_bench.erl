%% The Erlang side of bench/dist/run.sh: an echo server, and a client that
%% makes N sequential round trips to an echo server on another node.
-module(dist_bench).
-export([server/0, client/2]).

%% Registers `echo`: {From, Msg} -> From ! Msg.
server() ->
    register(echo, spawn(fun loop/0)),
    io:format("ready~n").

loop() ->
    receive
        {From, Msg} -> From ! Msg, loop();
        stop -> ok
    end.

%% N round trips to {echo, Node}; prints "round trips per second: R".
client(Node, N) ->
    {echo, Node} ! {self(), warm},
    receive warm -> ok end,
    Start = erlang:monotonic_time(microsecond),
    run(Node, N),
    Micros = erlang:monotonic_time(microsecond) - Start,
    io:format("~b round trips in ~.3f s: ~b per second~n",
              [N, Micros / 1.0e6, round(N * 1.0e6 / Micros)]).

run(_, 0) -> ok;
run(Node, N) ->
    {echo, Node} ! {self(), N},
    receive N -> run(Node, N - 1) end.
