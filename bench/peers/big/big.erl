%% big (Savina): A processes; each sends N pings, one at a time, to random
%% other processes, which answer each with a pong. Targets come from a
%% per-process LCG seeded with the process's id (1..A), the same in every
%% language, so the per-process ping counts and the checksum are fixed.
%% Usage: erl -noshell -pa DIR -run big main A N
%%   (prints "big A=.. N=.. pings=.. checksum=..", checksum = sum id*received)
-module(big).
-export([main/1]).

main([AS, NS]) ->
    A = list_to_integer(AS),
    N = list_to_integer(NS),
    Main = self(),
    Pids = [spawn(fun() -> init(Id, A, N, Main) end) || Id <- lists:seq(1, A)],
    Tuple = list_to_tuple(Pids),
    [P ! {init, Tuple} || P <- Pids],
    [receive done -> ok end || _ <- Pids],
    [P ! {stop, Main} || P <- Pids],
    {Pings, Checksum} = collect(A, 0, 0),
    io:format("big A=~b N=~b pings=~b checksum=~b~n", [A, N, Pings, Checksum]),
    halt().

collect(0, Pings, Checksum) -> {Pings, Checksum};
collect(K, Pings, Checksum) ->
    receive
        {received, Id, R} -> collect(K - 1, Pings + R, Checksum + Id * R)
    end.

%% The LCG: state' = (state * 1103515245 + 12345) mod 2^31.
next_rng(S) -> (S * 1103515245 + 12345) rem 2147483648.

%% A random index other than Me (0-based), from the state's high bits.
pick(Rng, Me, A) ->
    case Rng div 65536 rem A of
        Me -> (Me + 1) rem A;
        T -> T
    end.

init(Id, A, N, Main) ->
    receive
        {init, Pids} ->
            Rng = next_rng(Id),
            element(pick(Rng, Id - 1, A) + 1, Pids) ! {ping, self()},
            actor(Id, Pids, A, N, Main, 1, Rng, 0)
    end.

actor(Id, Pids, A, N, Main, Sent, Rng, Received) ->
    receive
        {ping, From} ->
            From ! pong,
            actor(Id, Pids, A, N, Main, Sent, Rng, Received + 1);
        pong when Sent == N ->
            Main ! done,
            actor(Id, Pids, A, N, Main, Sent, Rng, Received);
        pong ->
            R = next_rng(Rng),
            element(pick(R, Id - 1, A) + 1, Pids) ! {ping, self()},
            actor(Id, Pids, A, N, Main, Sent + 1, R, Received);
        {stop, From} ->
            From ! {received, Id, Received}
    end.
