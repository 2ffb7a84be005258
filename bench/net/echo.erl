%% echo: a line echo server with gen_tcp, one process per connection
%% ({packet, line}, passive mode).
%%
%%   erl -noshell -s echo main PORT
-module(echo).
-export([main/1, accept/1, serve/1]).

main([Port]) ->
    {ok, Listen} = gen_tcp:listen(list_to_integer(atom_to_list(Port)),
        [binary, {packet, line}, {active, false}, {reuseaddr, true},
         {ip, {127, 0, 0, 1}}, {backlog, 4096}, {recbuf, 65536}]),
    accept(Listen).

accept(Listen) ->
    {ok, Socket} = gen_tcp:accept(Listen),
    Pid = spawn(?MODULE, serve, [Socket]),
    ok = gen_tcp:controlling_process(Socket, Pid),
    accept(Listen).

serve(Socket) ->
    case gen_tcp:recv(Socket, 0) of
        {ok, Line} ->
            ok = gen_tcp:send(Socket, Line),
            serve(Socket);
        {error, _} ->
            gen_tcp:close(Socket)
    end.
