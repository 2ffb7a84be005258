%% The Erlang side of repl/tests/distribution.rs: registered processes a
%% Weft node talks to. Each reports what it saw back to the Weft process
%% that asked, so the Weft script prints the whole exchange.
-module(weft_peer).
-export([start/0, echo/0, worker/0]).

start() ->
    register(echo, spawn(fun echo/0)),
    register(worker, spawn(fun worker/0)),
    io:format("ready~n").

%% {From, Msg} -> From ! {self(), Msg}
echo() ->
    receive
        {From, Msg} -> From ! {self(), Msg}
    end,
    echo().

worker() ->
    receive
        %% Send a term of every kind Erlang has to `{Name, Node}`.
        {terms, Name, NodeName} ->
            Node = binary_to_atom(NodeName),
            Big = 123456789012345678901234567890,
            {Name, Node} ! {terms, [1, -1, 300, -70000, 1.5, hello, nil, true, false,
                                    <<"utf8 ☃"/utf8>>, <<255, 0>>, <<1:3>>, "abc", [],
                                    {}, {a, {b}}, #{1 => x, <<"k">> => [y]},
                                    self(), make_ref(), Big, -Big, [1 | 2],
                                    fun lists:map/2, fun() -> ok end,
                                    hd(erlang:ports())]},
            worker();
        %% Send terms Weft has no value for (and a binary that is not
        %% UTF-8); Weft sends them back, and Erlang says whether they
        %% came back exactly (=:=).
        {roundtrip, Name, NodeName} ->
            Node = binary_to_atom(NodeName),
            Big = 123456789012345678901234567890,
            Terms = [<<255, 0>>, <<1:3>>, [1 | 2], [a, b | c], fun lists:map/2,
                     fun() -> ok end, Big, -Big, hd(erlang:ports()),
                     {nested, [x | y], #{k => <<7:4>>}}],
            {Name, Node} ! {roundtrip, self(), Terms},
            receive
                {back, Back} -> {Name, Node} ! {roundtrip_equal, Back =:= Terms}
            after 5000 -> {Name, Node} ! {roundtrip_equal, timeout}
            end,
            worker();
        %% Link to a Weft pid, then die with Reason.
        {link_and_die, Pid, Reason} ->
            spawn(fun() -> link(Pid), receive after 100 -> ok end, exit(Reason) end),
            worker();
        %% Monitor a Weft pid and report the 'DOWN'.
        {monitor, Pid, ReportTo} ->
            spawn(fun() ->
                Ref = erlang:monitor(process, Pid),
                ReportTo ! {monitoring, Pid},
                receive {'DOWN', Ref, process, _, Reason} -> ReportTo ! {erlang_saw_down, Reason} end
            end),
            worker();
        %% Link to a Weft pid while trapping exits, and report the exit.
        {trap_link, Pid, ReportTo} ->
            spawn(fun() ->
                process_flag(trap_exit, true),
                link(Pid),
                ReportTo ! {linked, self()},
                receive {'EXIT', Pid, Reason} -> ReportTo ! {erlang_saw_exit, Reason} end
            end),
            worker();
        %% A process that lives until killed: for monitors from Weft.
        {spawn_victim, ReportTo} ->
            Victim = spawn(fun() -> receive stop -> exit(stopped) end end),
            ReportTo ! {victim, Victim},
            worker();
        halt ->
            erlang:halt()
    end.
