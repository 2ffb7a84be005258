%% The same parse as records.weft, with Erlang's binary matching.
-module(records).
-export([main/1]).

main([Path]) ->
    {ok, Bin} = file:read_file(Path),
    {Count, Total} = parse(Bin, 0, 0),
    io:format("~p ~p~n", [Count, Total]),
    halt().

parse(<<Size:32, Payload:Size/binary, Rest/binary>>, Count, Total) ->
    <<Value:16, _/binary>> = Payload,
    parse(Rest, Count + 1, Total + Value);
parse(<<>>, Count, Total) ->
    {Count, Total}.
