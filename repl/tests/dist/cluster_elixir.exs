# Run by repl/tests/cluster.rs: Elixir calls into a Weft node
# (cluster_node.weft, its name the first argument) with GenServer and
# :rpc, one line per check; every wait is bounded.
w = String.to_atom(hd(System.argv()))
IO.inspect(Node.ping(w))
IO.inspect(GenServer.call({:kv, w}, {:put, :a, 1}, 5000))
IO.inspect(GenServer.call({:kv, w}, {:get, :a}, 5000))
GenServer.cast({:kv, w}, {:put, :b, "two"})
IO.inspect(GenServer.call({:kv, w}, {:get, :b}, 5000))
IO.inspect(:rpc.call(w, :main, :add, [2, 3], 5000))
IO.inspect(:rpc.call(w, String, :upcase, ["x"], 5000))
send({:cluster_main, w}, {:stop, self()})
receive do
  m -> IO.inspect(m)
after
  5000 -> IO.puts("timeout")
end
